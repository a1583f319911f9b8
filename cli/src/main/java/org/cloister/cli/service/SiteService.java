package org.cloister.cli.service;

import org.cloister.cli.config.ConfigDir;
import org.cloister.cli.config.SiteFile;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.cloister.data.BadRowPolicy;
import org.cloister.data.CsvDatasetLoader;
import org.cloister.data.CsvLoadResult;
import org.cloister.data.DataFormatException;
import org.cloister.data.Dataset;
import org.cloister.data.Preprocessing;
import org.cloister.data.PreprocessingSpec;
import org.cloister.data.PrivateFeatureStats;
import org.cloister.data.StudySchema;
import org.cloister.observability.PrometheusEndpoint;
import org.cloister.protocol.tls.MutualTls;
import org.cloister.site.agent.SiteAgent;
import org.cloister.site.agent.SiteRoundRecord;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.site.ledger.DatasetFingerprint;
import org.cloister.site.ledger.SiteLedger;
import org.cloister.site.ledger.SpendSigner;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.cloister.site.dp.DpSgdLocalTrainer;
import org.cloister.site.training.PrivacyBudget;
import org.cloister.site.plain.ZooModelTrainer;
import org.cloister.site.sealing.AttestedHpkeSealer;
import org.cloister.site.sealing.SealedModelOpener;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.cloister.trust.pki.Pem;
import java.security.SecureRandom;
import java.time.Clock;

/**
 * A hospital's site agent as a service, from {@code site.yaml}: loads the local CSV (bad rows
 * reported by line, skipped or fatal as configured), connects to the coordinator over mTLS with
 * the site's certificate, trains each round it is asked to, and exits when the study ends.
 */
public final class SiteService {
  private final Path configFile;
  private final PrintWriter out;
  private final PrintWriter err;

  public SiteService(Path configFile, PrintWriter out, PrintWriter err) {
    this.configFile = configFile;
    this.out = out;
    this.err = err;
  }

  public int run() throws Exception {
    ConfigDir.Bound<SiteFile> bound = ConfigDir.bind(configFile, SiteFile.class);
    SiteFile c = bound.value();
    ConfigDir dir = bound.dir();
    if (c.evaluation() != null && !(c.evaluation().holdoutFraction() > 0 && c.evaluation().holdoutFraction() < 1)) {
      throw dir.error("'evaluation.holdout_fraction' must be in (0, 1), got " + c.evaluation().holdoutFraction());
    }
    TlsMaterial tls = TlsMaterial.load(dir, c.tls());
    SiteFile.Data d = c.data();
    String policyName = d.badRows() == null ? "fail" : d.badRows();
    BadRowPolicy policy = switch (policyName) {
      case "fail" -> BadRowPolicy.FAIL;
      case "skip" -> BadRowPolicy.SKIP;
      default -> throw dir.error("'data.bad_rows' must be fail or skip, got '" + policyName + "'");
    };
    Path csv = dir.path(d.csv());
    // the study fixes the features (the keys of data.preprocessing, in order), the classes and the
    // feature handling: nothing about the model's shape or inputs is taken from this file (both
    // are required by the binding: a site never derives them from its own file)
    PreprocessingSpec spec;
    if (d.preprocessing() instanceof java.util.Map<?, ?> rules) {
      spec = PreprocessingSpec.parse(rules, configFile.getFileName().toString());
    } else if ("builtin:wdbc".equals(d.preprocessing())) {
      spec = org.cloister.data.BuiltinDatasets.wdbcPreprocessing();
    } else if (d.preprocessing() instanceof String name && name.endsWith(".json")) {
      // the kit's model card: the study's rules and classes, the same document every member and the inference tier hold
      Path cardFile = dir.path(name);
      org.cloister.data.ModelCard card;
      try {
        card = org.cloister.data.ModelCard.parse(java.nio.file.Files.readAllBytes(cardFile), cardFile.toString());
      } catch (java.nio.file.NoSuchFileException e) {
        throw dir.error("'data.preprocessing': " + cardFile + " not found (the kit's model card)");
      } catch (IllegalArgumentException e) {
        throw dir.error("'data.preprocessing': " + e.getMessage());
      }
      List<String> labels = card.classes().stream().map(org.cloister.data.ModelCard.ClassEntry::label).toList();
      List<String> given = d.classes().stream().map(String::valueOf).toList();
      if (!labels.equals(given)) {
        throw dir.error("'data.classes' " + given + " are not the model card's class labels " + labels
            + " (" + cardFile.getFileName() + ")");
      }
      spec = card.preprocessing();
    } else {
      throw dir.error("'data.preprocessing' must be model-card.json (the kit's model card), builtin:wdbc or a mapping "
          + "of feature names to rules");
    }
    List<String> classes = new java.util.ArrayList<>();
    for (Object label : d.classes()) {
      if (label == null || label instanceof java.util.Map || label instanceof java.util.List) {
        throw dir.error("'data.classes' must list the class labels (text or numbers), got " + d.classes());
      }
      classes.add(String.valueOf(label));
    }
    StudySchema schema = new StudySchema(spec.features(), d.label(), classes);
    CsvLoadResult loaded;
    try {
      loaded = new CsvDatasetLoader(schema, policy).load(csv);
    } catch (DataFormatException e) {
      throw new DataFormatException(csv + " " + e.getMessage()); // which file: the line alone does not say
    }
    for (DataFormatException e : loaded.skippedRows()) {
      err.println("site: skipped " + csv.getFileName() + " " + e.getMessage()); // local log only
    }
    err.flush();
    // the site's own ceiling: required, never a default
    double delta = c.budget().delta();
    if (!(c.budget().epsilon() > 0) || c.budget().epsilon().isInfinite()) {
      throw dir.error("'budget.epsilon' must be a finite number > 0, got " + c.budget().epsilon());
    }
    if (!(delta > 0 && delta < 1)) {
      throw dir.error("'budget.delta' must be in (0, 1), got " + delta);
    }
    PrivacyBudget ceiling = new PrivacyBudget(c.budget().epsilon(), delta);
    Dataset raw = loaded.dataset();
    org.cloister.dp.events.DpEvent preprocessingEvent = null;
    Preprocessing prep;
    if (spec.needsPrivateEstimate()) {
      // bounded DP statistics of this site's own data, counted in its epsilon with its first update
      double sigma = PrivateFeatureStats.calibratedNoise(ceiling.epsilon(), delta);
      prep = PrivateFeatureStats.resolve(spec, schema.features(),
          List.of(PrivateFeatureStats.release(raw, spec, sigma, SecureGaussianNoise.fromOsEntropy())));
      preprocessingEvent = PrivateFeatureStats.event(sigma);
    } else {
      prep = spec.resolvePublic();
    }
    Dataset data = prep.apply(raw);
    boolean countPrivate = Boolean.TRUE.equals(c.countPrivate());
    org.cloister.dp.events.DpEvent firstSpend = preprocessingEvent;
    long seed = c.seed() != null ? c.seed() : 42;
    String studyId = c.studyId();
    InetSocketAddress coord = dir.address("coordinator", c.coordinator());

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ManagedChannel channel = NettyChannelBuilder.forAddress(coord.getHostString(), coord.getPort(),
            MutualTls.channelCredentials(tls.chain(), tls.key(), tls.trustRoot()))
        .maxInboundMessageSize(256 * 1024 * 1024).build();
    try (PrometheusEndpoint ep = new PrometheusEndpoint(dir.address("metrics", c.metrics() != null ? c.metrics() : "127.0.0.1:0"), registry).start()) {
      String siteId = tls.chain().get(0).getSubjectX500Principal().getName().replaceAll(".*CN=([^,]+).*", "$1");
      Path stateDir = dir.path(c.stateDir());
      java.nio.file.Files.createDirectories(stateDir);
      SiteLedger ledger = new SiteLedger("jdbc:sqlite:" + stateDir.resolve("site-ledger.db"));
      // the budget belongs to the dataset, across studies: a new study on the same data starts from what was spent
      String datasetId = d.dataset() != null ? DatasetFingerprint.of(siteId, d.dataset()) : DatasetFingerprint.of(siteId, csv);
      // federated evaluation: a held-out split DP-SGD never samples from (its dataset size is the training split's)
      org.cloister.data.HoldoutSplit split = holdout(dir, c.evaluation(), raw, data, datasetId);
      Dataset training = split == null ? data : split.train();
      org.cloister.site.evaluation.HoldoutEvaluator evaluator = split == null ? null
          : new org.cloister.site.evaluation.HoldoutEvaluator(split.holdout(), SecureGaussianNoise.fromOsEntropy());
      out.printf(Locale.ROOT, "site: federated evaluation: %s%n", split == null
          ? "no held-out split (evaluation.holdout_fraction not set): this site sends no evaluation"
          : split.holdout().size() + " held-out rows (never trained on), " + split.train().size() + " training rows;"
              + " the study's evaluation noise is counted in this site's budget");
      // a site with a budget trains only with DP-SGD, under its own guard; noise and sampling from OS entropy
      java.util.concurrent.atomic.AtomicReference<DpSgdLocalTrainer> dpTrainer = new java.util.concurrent.atomic.AtomicReference<>();
      ZooModelTrainer trainer = new ZooModelTrainer(training, seed, net -> {
        DpSgdLocalTrainer t = new DpSgdLocalTrainer(net, training, SecureGaussianNoise.fromOsEntropy(), ceiling,
            () -> ledger.datasetEvents(datasetId), new java.security.SecureRandom(), firstSpend, countPrivate, evaluator);
        dpTrainer.set(t);
        return t;
      });
      // site-local metrics: the clip fraction is not noised, so it is served only on this site's own endpoint
      io.micrometer.core.instrument.Gauge.builder("cloister.site.epsilon", dpTrainer, r -> r.get() == null ? 0 : r.get().lastEpsilon())
          .description("this site's cumulative epsilon at its budget delta").register(registry);
      io.micrometer.core.instrument.Gauge.builder("cloister.site.clip_fraction", dpTrainer,
          r -> r.get() == null ? 0 : r.get().lastClipping().fractionClipped()).description("fraction of examples clipped last round")
          .register(registry);
      List<org.cloister.dp.events.DpEvent> history = ledger.datasetEvents(datasetId);
      if (!history.isEmpty()) {
        out.printf(Locale.ROOT, "site: dataset %s: %d rounds already spent (%d in study %s) according to the local ledger;"
            + " the budget counts them all%n", datasetId.substring(0, 15), history.size(), ledger.events(studyId).size(), studyId);
      }
      out.printf(Locale.ROOT, "site: privacy: own ceiling epsilon %s, delta %s (dataset %s)%n", ceiling.epsilon(), delta,
          datasetId.substring(0, 15));
      UpdateSealer sealer = sealer(dir, c.enclave(), siteId, channel);
      SiteAgent agent = new SiteAgent(channel, studyId, trainer, sealer,
          new SpendSigner(siteId, tls.key(), tls.chain().get(0), delta, datasetId), ledger,
          new SiteAgent.Options(Duration.ofSeconds(5), Duration.ofSeconds(10),
              Duration.ofMillis((long) ((c.giveUpAfterSeconds() != null ? c.giveUpAfterSeconds() : 600) * 1000))));
      out.printf(Locale.ROOT, "site: %d local examples (%d features, preprocessing %s%s) from %s, joining study %s at %s; updates %s%n",
          training.size(), data.numFeatures(), spec.needsPrivateEstimate() ? "privately estimated" : "public",
          countPrivate ? ", count-private" : "", csv.getFileName(), studyId, coord,
          sealer instanceof AttestedHpkeSealer ? "sealed to the attested enclave" : "in PLAINTEXT (development)");
      out.flush();
      double ceilingEpsilon = ceiling.epsilon();
      agent.onRound(r -> {
        // one line per round: what happened to this site's update and its epsilon so far (no data, no values)
        Double eps = r.metrics().get("epsilon");
        out.printf(Locale.ROOT, "site: round %d: %s%s%n", r.round(),
            r.accepted() ? "update accepted by the coordinator" : "no update accepted: " + r.detail(),
            eps == null ? "" : String.format(Locale.ROOT, "; epsilon %.3f of %s", eps, ceilingEpsilon));
        out.flush();
      });
      List<SiteRoundRecord> records;
      try {
        records = agent.call();
      } catch (SiteAgent.GaveUp e) {
        err.println("site: " + e.getMessage());
        err.flush();
        return 1;
      }
      for (SiteRoundRecord r : records) {
        registry.counter("cloister.site.rounds", "outcome", r.accepted() ? "accepted" : "not_accepted").increment();
      }
      long accepted = records.stream().filter(SiteRoundRecord::accepted).count();
      out.printf(Locale.ROOT, "site: study ended; %d rounds trained and accepted, %d not%n", accepted, records.size() - accepted);
      out.flush();
      return 0;
    } finally {
      channel.shutdownNow();
    }
  }

  /**
   * The site's held-out split ({@code evaluation.holdout_fraction}), keyed by {@code evaluation.split_key} or else
   * the dataset's fingerprint, so that the same rows stay held out every round and after a restart; null without
   * an {@code evaluation:} section.
   */
  static org.cloister.data.HoldoutSplit holdout(ConfigDir dir, SiteFile.Evaluation e, Dataset raw, Dataset data,
                                                String datasetId) {
    if (e == null) {
      return null;
    }
    double f = e.holdoutFraction();
    if (!(f > 0 && f < 1)) {
      throw dir.error("'evaluation.holdout_fraction' must be in (0, 1), got " + f);
    }
    org.cloister.data.HoldoutSplit split = org.cloister.data.HoldoutSplit.of(raw, data, f,
        e.splitKey() != null ? e.splitKey() : datasetId);
    if (split.train().size() == 0 || split.holdout().size() == 0) {
      throw dir.error("'evaluation.holdout_fraction' " + f + " leaves " + split.train().size() + " training and "
          + split.holdout().size() + " held-out rows: both must be non-empty");
    }
    return split;
  }

  /**
   * How updates leave this site: HPKE-sealed to the enclave after verifying a fresh attestation
   * document against the PCRs in this site's kit ({@code enclave:} section), with global models
   * opened with this site's sealing key; or, with {@code -Dcloister.aggregation=plaintext}, in
   * plaintext (development only, loudly).
   */
  UpdateSealer sealer(ConfigDir dir, SiteFile.Enclave e, String siteId, ManagedChannel channel) throws java.io.IOException {
    if (ServiceAggregation.plaintextRequested()) {
      err.println("WARNING: -Dcloister.aggregation=plaintext: this site sends its updates in PLAINTEXT to the "
          + "coordinator. Development only: never with real patient data.");
      err.flush();
      return UpdateSealer.plaintext();
    }
    if (e == null) {
      throw dir.error("there is no 'enclave:' section (expected PCRs, attestation root, sealing key from the kit "
          + "`cloister provision` wrote): this site does not know which enclave to trust with its updates");
    }
    if (e.expectedMeasurements() != null) {
      // an enclave on a confidential VM (SEV-SNP, TDX): vendor roots pinned in the code, collateral carried in
      if (e.expectedPcrs() != null || e.attestationRoot() != null) {
        throw dir.error("'expected_measurements' (SEV-SNP/TDX) and 'expected_pcrs'/'attestation_root' (Nitro) "
            + "exclude each other: the enclave runs on one platform");
      }
      org.cloister.trust.attestation.MeasurementPins pins =
          org.cloister.trust.attestation.MeasurementPins.read(dir.path(e.expectedMeasurements()));
      if (pins.platform() == org.cloister.trust.attestation.TeePlatform.NITRO) {
        throw dir.error("a Nitro enclave is pinned with 'expected_pcrs' and 'attestation_root', not 'expected_measurements'");
      }
      org.cloister.trust.attestation.Collateral collateral = e.collateralDir() != null
          ? org.cloister.trust.attestation.Collateral.readDirectory(dir.path(e.collateralDir()))
          : org.cloister.trust.attestation.Collateral.empty();
      HpkeKeyPair key = SecureAggregationSetup.readSealingKey(dir.path(e.sealingKey()));
      return new AttestedHpkeSealer(channel, siteId,
          org.cloister.trust.attestation.BoundEvidenceVerifier.pinnedRoots(pins, collateral),
          new SealedModelOpener(channel, siteId, key), Clock.systemUTC(), new SecureRandom());
    }
    if (e.attestationRoot() == null || e.expectedPcrs() == null) {
      throw dir.error("'enclave' needs 'expected_pcrs' and 'attestation_root' (Nitro) or 'expected_measurements' "
          + "(SEV-SNP/TDX): this site does not know which enclave to trust with its updates");
    }
    String root = e.attestationRoot();
    NitroAttestationVerifier verifier = root.equals("aws") ? NitroAttestationVerifier.withAwsRoot()
        : new NitroAttestationVerifier(Pem.readCertificate(dir.path(root)));
    HpkeKeyPair key = SecureAggregationSetup.readSealingKey(dir.path(e.sealingKey()));
    return new AttestedHpkeSealer(channel, siteId, verifier, SecureAggregationSetup.readPcrs(dir.path(e.expectedPcrs())),
        new SealedModelOpener(channel, siteId, key), Clock.systemUTC(), new SecureRandom());
  }
}

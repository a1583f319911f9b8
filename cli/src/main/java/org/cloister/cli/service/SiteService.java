package org.cloister.cli.service;

import org.cloister.cli.config.ConfigMap;

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
  static final Set<String> KEYS = Set.of("coordinator", "tls", "data", "budget", "state_dir", "metrics", "give_up_after_s",
      "study_id", "seed", "enclave", "count_private");
  static final Set<String> ENCLAVE_KEYS = Set.of("expected_pcrs", "attestation_root", "sealing_key",
      "expected_measurements", "collateral_dir");
  static final Set<String> DATA_KEYS = Set.of("csv", "label", "bad_rows", "dataset", "classes", "preprocessing");

  private final Path configFile;
  private final PrintWriter out;
  private final PrintWriter err;

  public SiteService(Path configFile, PrintWriter out, PrintWriter err) {
    this.configFile = configFile;
    this.out = out;
    this.err = err;
  }

  public int run() throws Exception {
    ConfigMap c = ConfigMap.load(configFile, KEYS);
    TlsMaterial tls = TlsMaterial.load(c.section("tls", TlsMaterial.KEYS));
    ConfigMap d = c.section("data", DATA_KEYS);
    String policyName = d.string("bad_rows", "fail");
    BadRowPolicy policy = switch (policyName) {
      case "fail" -> BadRowPolicy.FAIL;
      case "skip" -> BadRowPolicy.SKIP;
      default -> throw d.error("'data.bad_rows' must be fail or skip, got '" + policyName + "'");
    };
    Path csv = d.path("csv");
    // the study fixes the features (the keys of data.preprocessing, in order), the classes and the
    // feature handling: nothing about the model's shape or inputs is taken from this file
    if (!d.has("classes") || !d.has("preprocessing")) {
      throw d.error("'data.classes' (the study's class labels) and 'data.preprocessing' (the study's rule for every "
          + "feature) must both be given: a site never derives them from its own file");
    }
    PreprocessingSpec spec;
    if (d.isMapping("preprocessing")) {
      spec = PreprocessingSpec.parse(d.mapping("preprocessing"), configFile.getFileName().toString());
    } else if (d.string("preprocessing").equals("builtin:wdbc")) {
      spec = org.cloister.data.BuiltinDatasets.wdbcPreprocessing();
    } else if (d.string("preprocessing").endsWith(".json")) {
      // the kit's model card: the study's rules and classes, the same document every member and the inference tier hold
      Path cardFile = configFile.toAbsolutePath().getParent().resolve(d.string("preprocessing"));
      org.cloister.data.ModelCard card;
      try {
        card = org.cloister.data.ModelCard.parse(java.nio.file.Files.readAllBytes(cardFile), cardFile.toString());
      } catch (java.nio.file.NoSuchFileException e) {
        throw d.error("'data.preprocessing': " + cardFile + " not found (the kit's model card)");
      } catch (IllegalArgumentException e) {
        throw d.error("'data.preprocessing': " + e.getMessage());
      }
      List<String> labels = card.classes().stream().map(org.cloister.data.ModelCard.ClassEntry::label).toList();
      if (!labels.equals(d.strings("classes"))) {
        throw d.error("'data.classes' " + d.strings("classes") + " are not the model card's class labels " + labels
            + " (" + cardFile.getFileName() + ")");
      }
      spec = card.preprocessing();
    } else {
      throw d.error("'data.preprocessing' must be model-card.json (the kit's model card), builtin:wdbc or a mapping "
          + "of feature names to rules");
    }
    StudySchema schema = new StudySchema(spec.features(), d.string("label"), d.strings("classes"));
    CsvLoadResult loaded = new CsvDatasetLoader(schema, policy).load(csv);
    for (DataFormatException e : loaded.skippedRows()) {
      err.println("site: skipped " + csv.getFileName() + " " + e.getMessage()); // local log only
    }
    err.flush();
    ConfigMap budget = c.section("budget", Set.of("epsilon", "delta"));
    double delta = budget.number("delta", 1e-5);
    PrivacyBudget ceiling = new PrivacyBudget(budget.number("epsilon", 3.0), delta);
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
    boolean countPrivate = c.bool("count_private", false);
    org.cloister.dp.events.DpEvent firstSpend = preprocessingEvent;
    long seed = c.integer("seed", 42);
    String studyId = c.string("study_id");
    InetSocketAddress coord = c.address("coordinator", null);

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ManagedChannel channel = NettyChannelBuilder.forAddress(coord.getHostString(), coord.getPort(),
            MutualTls.channelCredentials(tls.chain(), tls.key(), tls.trustRoot()))
        .maxInboundMessageSize(256 * 1024 * 1024).build();
    try (PrometheusEndpoint ep = new PrometheusEndpoint(c.address("metrics", "127.0.0.1:0"), registry).start()) {
      String siteId = tls.chain().get(0).getSubjectX500Principal().getName().replaceAll(".*CN=([^,]+).*", "$1");
      Path stateDir = c.path("state_dir");
      java.nio.file.Files.createDirectories(stateDir);
      SiteLedger ledger = new SiteLedger("jdbc:sqlite:" + stateDir.resolve("site-ledger.db"));
      // the budget belongs to the dataset, across studies: a new study on the same data starts from what was spent
      String datasetId = d.has("dataset") ? DatasetFingerprint.of(siteId, d.string("dataset")) : DatasetFingerprint.of(siteId, csv);
      // a site with a budget trains only with DP-SGD, under its own guard; noise and sampling from OS entropy
      java.util.concurrent.atomic.AtomicReference<DpSgdLocalTrainer> dpTrainer = new java.util.concurrent.atomic.AtomicReference<>();
      ZooModelTrainer trainer = new ZooModelTrainer(data, seed, net -> {
        DpSgdLocalTrainer t = new DpSgdLocalTrainer(net, data, SecureGaussianNoise.fromOsEntropy(), ceiling,
            () -> ledger.datasetEvents(datasetId), new java.security.SecureRandom(), firstSpend, countPrivate);
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
      UpdateSealer sealer = sealer(c, siteId, channel);
      SiteAgent agent = new SiteAgent(channel, studyId, trainer, sealer,
          new SpendSigner(siteId, tls.key(), tls.chain().get(0), delta, datasetId), ledger,
          new SiteAgent.Options(Duration.ofSeconds(5), Duration.ofSeconds(10),
              Duration.ofMillis((long) (c.number("give_up_after_s", 600) * 1000))));
      out.printf(Locale.ROOT, "site: %d local examples (%d features, preprocessing %s%s) from %s, joining study %s at %s; updates %s%n",
          data.size(), data.numFeatures(), spec.needsPrivateEstimate() ? "privately estimated" : "public",
          countPrivate ? ", count-private" : "", csv.getFileName(), studyId, coord,
          sealer instanceof AttestedHpkeSealer ? "sealed to the attested enclave" : "in PLAINTEXT (development)");
      out.flush();
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
   * How updates leave this site: HPKE-sealed to the enclave after verifying a fresh attestation
   * document against the PCRs in this site's kit ({@code enclave:} section), with global models
   * opened with this site's sealing key; or, with {@code -Dcloister.aggregation=plaintext}, in
   * plaintext (development only, loudly).
   */
  UpdateSealer sealer(ConfigMap c, String siteId, ManagedChannel channel) throws java.io.IOException {
    if (ServiceAggregation.plaintextRequested()) {
      err.println("WARNING: -Dcloister.aggregation=plaintext: this site sends its updates in PLAINTEXT to the "
          + "coordinator. Development only: never with real patient data.");
      err.flush();
      return UpdateSealer.plaintext();
    }
    if (!c.has("enclave")) {
      throw c.error("there is no 'enclave:' section (expected PCRs, attestation root, sealing key from the kit "
          + "`cloister provision` wrote): this site does not know which enclave to trust with its updates");
    }
    ConfigMap e = c.section("enclave", ENCLAVE_KEYS);
    if (e.has("expected_measurements")) {
      // an enclave on a confidential VM (SEV-SNP, TDX): vendor roots pinned in the code, collateral carried in
      if (e.has("expected_pcrs") || e.has("attestation_root")) {
        throw e.error("'expected_measurements' (SEV-SNP/TDX) and 'expected_pcrs'/'attestation_root' (Nitro) "
            + "exclude each other: the enclave runs on one platform");
      }
      org.cloister.trust.attestation.MeasurementPins pins =
          org.cloister.trust.attestation.MeasurementPins.read(e.path("expected_measurements"));
      if (pins.platform() == org.cloister.trust.attestation.TeePlatform.NITRO) {
        throw e.error("a Nitro enclave is pinned with 'expected_pcrs' and 'attestation_root', not 'expected_measurements'");
      }
      org.cloister.trust.attestation.Collateral collateral = e.has("collateral_dir")
          ? org.cloister.trust.attestation.Collateral.readDirectory(e.path("collateral_dir"))
          : org.cloister.trust.attestation.Collateral.empty();
      HpkeKeyPair key = SecureAggregationSetup.readSealingKey(e.path("sealing_key"));
      return new AttestedHpkeSealer(channel, siteId,
          org.cloister.trust.attestation.BoundEvidenceVerifier.pinnedRoots(pins, collateral),
          new SealedModelOpener(channel, siteId, key), Clock.systemUTC(), new SecureRandom());
    }
    String root = e.string("attestation_root");
    NitroAttestationVerifier verifier = root.equals("aws") ? NitroAttestationVerifier.withAwsRoot()
        : new NitroAttestationVerifier(Pem.readCertificate(e.path("attestation_root")));
    HpkeKeyPair key = SecureAggregationSetup.readSealingKey(e.path("sealing_key"));
    return new AttestedHpkeSealer(channel, siteId, verifier, SecureAggregationSetup.readPcrs(e.path("expected_pcrs")),
        new SealedModelOpener(channel, siteId, key), Clock.systemUTC(), new SecureRandom());
  }
}

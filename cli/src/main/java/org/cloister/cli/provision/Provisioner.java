package org.cloister.cli.provision;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.cli.service.CoordinatorService;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.dp.accounting.Calibration;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.cloister.trust.pki.Pem;

/**
 * Creates a consortium's PKI, its secure aggregation setup and one ready-to-run folder per party
 * (a startup kit):
 *
 * <pre>
 * DIR/ca/           ca.crt, ca.key          the consortium CA (keep offline)
 * DIR/coordinator/  coordinator.crt, coordinator.key, ca.crt, coordinator.yaml,
 *                   enclave/    the enclave image, its configuration and policy, expected-pcrs.json,
 *                               platform/ (the simulated platform's development attestation root and key)
 *                   key-broker/ the key broker's TLS certificate, keystore (model key) and PCR-pinned policy
 * DIR/SITE/         site.crt, site.key, ca.crt, site.yaml,
 *                   sealing.key (this site's HPKE key for sealed models), expected-pcrs.json, attestation-root.crt
 * DIR/OBSERVER/     member.crt, member.key, ca.crt, sealing.key, expected-pcrs.json, attestation-root.crt
 *                   (a member who receives sealed global models, e.g. an evaluator, but does not train)
 * </pre>
 *
 * Every private key is generated for, and written only into, its own folder (owner-readable only).
 * The aggregation policy fixes the study (model, dimension, norm bound, quorum, server optimizer);
 * PCR0 is the SHA-384 of the enclave image this distribution ships, copied into the coordinator's
 * kit so that the host launches exactly the image the consortium measured.
 */
public final class Provisioner {
  /** The operator's certificate common name (the coordinator's operator API); no party may take it. */
  public static final String OPERATOR = "operator";
  private final SecureRandom random;
  private final Path enclaveImage;

  /** @param enclaveImage the enclave image jar to measure and ship to the coordinator's host */
  public Provisioner(SecureRandom random, Path enclaveImage) {
    this.random = random;
    this.enclaveImage = java.util.Objects.requireNonNull(enclaveImage, "enclaveImage");
  }

  /** Provisions into {@code out} for the simulated platform (development); see {@link #provision(ConsortiumSpec, Path, Instant, MeasurementPins)}. */
  public List<Path> provision(ConsortiumSpec spec, Path out, Instant now) throws IOException {
    return provision(spec, out, now, null);
  }

  /**
   * Provisions into {@code out}, which must not exist or be empty; returns the folders written.
   *
   * @param real the measurements every party pins for an enclave on real hardware (Nitro PCR0..2 with the AWS
   *     root; SEV-SNP / TDX named measurements with the pinned vendor roots), or null for the simulated platform
   */
  public List<Path> provision(ConsortiumSpec spec, Path out, Instant now, MeasurementPins real) throws IOException {
    if (Files.exists(out) && (!Files.isDirectory(out) || Files.list(out).findAny().isPresent())) {
      throw new IllegalArgumentException(out + " exists and is not empty: refusing to overwrite keys");
    }
    if (spec.sites().contains(OPERATOR) || spec.observers().contains(OPERATOR)
        || (spec.keyBroker() != null && spec.keyBroker().party().equals(OPERATOR))) {
      throw new IllegalArgumentException("'" + OPERATOR + "' is the name of the operator's certificate (the operator "
          + "API): give the party another name");
    }
    Instant nb = now.truncatedTo(ChronoUnit.SECONDS).minus(5, ChronoUnit.MINUTES);
    Instant caNa = nb.plus(spec.validityDays() * 2L, ChronoUnit.DAYS);
    Instant na = nb.plus(spec.validityDays(), ChronoUnit.DAYS);
    CertificateAuthority ca = CertificateAuthority.createRoot(spec.name() + " consortium CA", EcCurve.P256, nb, caNa, random);
    List<Path> written = new ArrayList<>();
    ConsortiumSpec.Study study = spec.study();
    int dimension = CoordinatorService.initialWeights(study.model(), study.features(), study.classes(), 0).length;

    Path caDir = Files.createDirectories(out.resolve("ca"));
    ca.writePem(caDir.resolve("ca.crt"), caDir.resolve("ca.key"));
    written.add(caDir);

    Path coord = Files.createDirectories(out.resolve("coordinator"));
    boolean ip = isIpLiteral(spec.coordinatorHost());
    IssuedCertificate server = ca.issueServer("coordinator",
        ip ? List.of("localhost") : List.of(spec.coordinatorHost(), "localhost"),
        ip ? List.of(spec.coordinatorHost()) : List.of("127.0.0.1"), nb, na);
    Pem.writeCertificates(coord.resolve("coordinator.crt"), server.chain());
    Pem.writePrivateKey(coord.resolve("coordinator.key"), server.privateKey());
    Pem.writeCertificates(coord.resolve("ca.crt"), List.of(ca.certificate()));
    write(coord.resolve("coordinator.yaml"), """
        # Coordinator of consortium %s (generated by `cloister provision`).
        listen: %s:%d        # the address this host binds (sites connect to %s:%d)
        tls:
          certificate: coordinator.crt
          private_key: coordinator.key
          trust_root: ca.crt
          revoked_serials: []        # hex serial numbers of revoked site certificates
        database: jdbc:sqlite:coordinator.db
        metrics: 127.0.0.1:9464      # Prometheus scrape endpoint
        sites: [%s]
        admin:                       # who may use the operator API (`cloister status`, `cloister study pause|resume|stop`)
          operators: [operator]      # certificate common names: the kit in operator/
        study:                       # the study this coordinator runs
          # fixed by the consortium in the enclave's aggregation policy (PCR2): change them in the
          # consortium file and provision again
          id: %s
          model: %s                  # logreg | mlp | cnn
          features: %d               # input features every site's data has
          classes: %d
          min_sites: %d              # quorum per round: the enclave publishes no model from fewer sites (min_sites, cohort_floor)
          strategy: %s               # fedavg | fedprox[:MU] (sites' proximal term) | fedadam | fedyogi (the enclave's server optimizer)
          # the schedule (edit before starting)
          rounds: 10
          round_deadline_s: 120
          local_epochs: 1
          batch_size: 16
          learning_rate: 0.3
          seed: 42
          dp:                        # DP-SGD at every site (choose sigma with `cloister privacy calibrate`)
            noise_multiplier: 1.9
            clip: 1.0
          evaluation:                # federated evaluation on the sites' held-out splits (docs/privacy-accounting.md)
            enabled: false           # to turn it on: noise_multiplier: 20 and bins: 10 here (its cost counts in every site's budget), evaluation.holdout_fraction in each site.yaml
        privacy:                     # each site's ceiling; the coordinator does not ask a site that would exceed it
          epsilon: 3.0
          delta: 1.0e-5
        aggregation:                 # the secure aggregator enclave and the key broker, started on this host
          enclave_image: enclave/cloister-enclave.jar   # the image the consortium measured (PCR0)
          enclave_config: enclave/enclave-config.json     # PCR1
          aggregation_policy: enclave/aggregation-policy.json  # PCR2
          expected_pcrs: enclave/expected-pcrs.json
          platform: simulated        # DEVELOPMENT: no TEE hardware; documents signed by the root below
          attestation_root: enclave/platform/dev-attestation-root.crt
          attestation_root_key: enclave/platform/dev-attestation-root.key
          key_broker: key-broker     # the key broker's directory (it runs on this host, like a cloud KMS)
          sealed_models: sealed-models   # the encrypted models and members' sealed copies
          # enclave: 127.0.0.1:PORT  # an enclave already running on this host, instead of starting one
        """.formatted(spec.name(), listenHost(spec.coordinatorHost()), spec.coordinatorPort(), spec.coordinatorHost(),
        spec.coordinatorPort(), String.join(", ", spec.sites()),
        study.id(), study.model(), study.features(), study.classes(), Math.max(study.minSites(), study.cohortFloor()),
        study.strategy()));
    written.add(coord);
    // the model card: the study's features, their rules and its class names, beside every kit's copy of the model
    org.cloister.data.ModelCard card = study.modelCard();
    if (card != null) {
      Files.write(coord.resolve(org.cloister.data.ModelCard.FILE), card.toJson());
    }

    // the consortium's secure aggregation setup: sealing keys, enclave files, PCRs, key broker, attestation root
    Map<String, HpkeKeyPair> sealingKeys = new LinkedHashMap<>();
    Map<String, byte[]> roster = new LinkedHashMap<>();
    for (String member : java.util.stream.Stream.concat(spec.sites().stream(), spec.observers().stream()).toList()) {
      HpkeKeyPair k = SecureAggregationSetup.newSealingKey();
      sealingKeys.put(member, k);
      roster.put(member, k.publicKey());
    }
    AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, study.id(), study.model(), dimension,
        study.maxUpdateNorm(), study.minSites(), study.cohortFloor(), centralDp(study.centralDp()),
        SecureAggregationSetup.strategySpec(study.strategy()));
    Path enclaveDir = Files.createDirectories(coord.resolve("enclave"));
    Path image = enclaveDir.resolve("cloister-enclave.jar");
    Files.copy(enclaveImage, image);
    SecureAggregationSetup.EnclaveFiles files = SecureAggregationSetup.enclaveFiles(enclaveDir, policy, roster,
        new java.util.HashSet<>(spec.observers()), ca.certificate(), ca.certificate());
    Map<Integer, byte[]> pcrs = SecureAggregationSetup.expectedPcrs(image, files);
    if (real != null && real.platform() != TeePlatform.NITRO) {
      real = withLaunchConfiguration(real, Files.readAllBytes(files.config()), Files.readAllBytes(files.policy()));
    }
    Path devRoot = null;
    if (real == null) {
      SecureAggregationSetup.writePcrs(enclaveDir.resolve("expected-pcrs.json"), pcrs);
      devRoot = enclaveDir.resolve("platform").resolve("dev-attestation-root.crt");
      SecureAggregationSetup.developmentRoot(devRoot, enclaveDir.resolve("platform").resolve("dev-attestation-root.key"),
          Clock.systemUTC(), random);
    } else {
      pcrs = real.platform() == TeePlatform.NITRO ? nitroPcrs(real) : null;
      writePins(enclaveDir, real, null);
      String yaml = Files.readString(coord.resolve("coordinator.yaml"));
      Files.writeString(coord.resolve("coordinator.yaml"), yaml.replace(
          "  expected_pcrs: enclave/expected-pcrs.json\n"
              + "  platform: simulated        # DEVELOPMENT: no TEE hardware; documents signed by the root below\n"
              + "  attestation_root: enclave/platform/dev-attestation-root.crt\n"
              + "  attestation_root_key: enclave/platform/dev-attestation-root.key\n",
          real.platform() == TeePlatform.NITRO
              ? "  expected_pcrs: enclave/expected-pcrs.json   # from nitro-cli build-enclave (docs/deployment.md)\n"
                  + "  platform: nitro\n"
                  + "  # enclave: 127.0.0.1:7000   # REQUIRED: the parent's forwarder to the enclave's vsock port 7000\n"
              : "  expected_measurements: enclave/expected-measurements.json   # docs/deployment.md: where they come from\n"
                  + "  collateral_dir: enclave/collateral   # fill with `cloister attest collateral`\n"
                  + "  platform: " + real.platform().id() + "\n"
                  + "  # enclave: ENCLAVE_VM:7000   # REQUIRED: the confidential VM running the enclave\n"));
      if (real.platform() != TeePlatform.NITRO) {
        Files.createDirectories(enclaveDir.resolve("collateral"));
      }
    }
    // the key broker holds the model key: on the coordinator's host unless the consortium places it with another party
    ConsortiumSpec.KeyBrokerPlacement placement = spec.keyBroker();
    Path brokerDir = placement == null ? coord.resolve("key-broker")
        : out.resolve(placement.party()).resolve("key-broker");
    SecureAggregationSetup.BrokerFiles brokerTls = SecureAggregationSetup.brokerTls(ca, brokerDir, nb, na);
    SecureAggregationSetup.BrokerFiles broker = pcrs != null
        ? SecureAggregationSetup.brokerDirectory(brokerTls, files.keyId(), pcrs, random)
        : SecureAggregationSetup.brokerDirectory(brokerTls, files.keyId(), real, random);
    if (real != null && real.platform() != TeePlatform.NITRO) {
      Files.createDirectories(brokerDir.resolve("collateral"));
    }
    if (placement != null) {
      if (devRoot != null) {
        Files.copy(devRoot, brokerDir.resolve("attestation-root.crt"));
      }
      write(brokerDir.resolve("README.txt"), brokerReadme(spec, placement, broker));
      if (!spec.sites().contains(placement.party()) && !spec.observers().contains(placement.party())) {
        written.add(out.resolve(placement.party()));
      }
      String yaml = Files.readString(coord.resolve("coordinator.yaml"));
      Files.writeString(coord.resolve("coordinator.yaml"), yaml.replace(
          "  key_broker: key-broker     # the key broker's directory (it runs on this host, like a cloud KMS)\n",
          "  key_broker_address: " + placement.address() + "   # run by " + placement.party()
              + " (its kit: " + placement.party() + "/key-broker/); the model key is not on this host\n"));
    }

    for (String site : spec.sites()) {
      Path dir = memberKit(out.resolve(site), "site", ca.issueClient(site, nb, na), ca, sealingKeys.get(site), pcrs, devRoot,
          real, card);
      write(dir.resolve("site.yaml"), """
          # Site %s of consortium %s (generated by `cloister provision`).
          # Its identity is the certificate in site.crt; its data never leaves this machine.
          coordinator: %s:%d
          study_id: %s
          tls:
            certificate: site.crt
            private_key: site.key
            trust_root: ca.crt
          data:
            csv: data.csv              # a header row, numeric features, one label column
            label: label
            classes: [%s]              # the study's class labels, in class-index order (an unknown label is a bad row)
            # the study's rule for every feature, fixed before any record is read (docs/privacy-accounting.md):
            # model-card.json (this kit's copy of the study's model card), builtin:wdbc, or a mapping such as
            #   age: {bounds: [18, 90]}  |  bmi: {centre: 25, scale: 5}  |  glucose: {private: [40, 400]}
            preprocessing: %s
            bad_rows: fail             # fail | skip (skipped rows are reported by line, in this site's log only)
          budget:                      # this site's own privacy ceiling for the study
            epsilon: 3.0
            delta: 1.0e-5
          state_dir: state             # the site's durable local ledger
          metrics: 127.0.0.1:0
          # evaluation:                # held-out rows for the study's federated evaluation (never trained on)
          #   holdout_fraction: 0.2
          enclave:                     # the secure aggregator every update is encrypted to
          %s
            sealing_key: sealing.key   # this site's key for the global models sealed to it (never leaves this folder)
          """.formatted(site, spec.name(), spec.coordinatorHost(), spec.coordinatorPort(), study.id(),
          String.join(", ", java.util.stream.IntStream.range(0, study.classes()).mapToObj(Integer::toString).toList()),
          card != null ? org.cloister.data.ModelCard.FILE : "builtin:wdbc",
          siteEnclavePins(real).indent(2).stripTrailing()));  // under enclave:, two spaces in
      written.add(dir);
    }
    for (String observer : spec.observers()) {
      written.add(memberKit(out.resolve(observer), "member", ca.issueClient(observer, nb, na), ca,
          sealingKeys.get(observer), pcrs, devRoot, real, card));
    }
    // the consortium operator: a client certificate for the coordinator's operator API, nothing else
    Path operator = Files.createDirectories(out.resolve(OPERATOR));
    IssuedCertificate opCert = ca.issueClient(OPERATOR, nb, na);
    Pem.writeCertificates(operator.resolve("operator.crt"), opCert.chain());
    Pem.writePrivateKey(operator.resolve("operator.key"), opCert.privateKey());
    Pem.writeCertificates(operator.resolve("ca.crt"), List.of(ca.certificate()));
    write(operator.resolve("operator.yaml"), """
        # The operator of consortium %s (generated by `cloister provision`): `cloister status --kit DIR`,
        # `cloister study list|pause|resume|stop --kit DIR`. operator.key grants those actions: keep it safe.
        coordinator: %s:%d
        """.formatted(spec.name(), spec.coordinatorHost(), spec.coordinatorPort()));
    written.add(operator);
    return written;
  }

  /**
   * A member's kit: its client certificate and key ({@code NAME.crt}, {@code NAME.key}) and what it
   * needs to trust the enclave and open the models sealed to it.
   */
  private static Path memberKit(Path dir, String name, IssuedCertificate client, CertificateAuthority ca,
                                HpkeKeyPair sealingKey, Map<Integer, byte[]> pcrs, Path devRoot,
                                MeasurementPins real, org.cloister.data.ModelCard card) throws IOException {
    Files.createDirectories(dir);
    if (card != null) {
      Files.write(dir.resolve(org.cloister.data.ModelCard.FILE), card.toJson());
    }
    Pem.writeCertificates(dir.resolve(name + ".crt"), client.chain());
    Pem.writePrivateKey(dir.resolve(name + ".key"), client.privateKey());
    Pem.writeCertificates(dir.resolve("ca.crt"), List.of(ca.certificate()));
    SecureAggregationSetup.writeSealingKey(dir.resolve("sealing.key"), sealingKey);
    if (real == null) {
      SecureAggregationSetup.writePcrs(dir.resolve("expected-pcrs.json"), pcrs);
      Files.copy(devRoot, dir.resolve("attestation-root.crt"));
    } else {
      writePins(dir, real, Files.createDirectories(dir.resolve("collateral")));
    }
    return dir;
  }

  /**
   * SEV-SNP / TDX: the pins plus the launch value of the configuration and policy just written ({@code host_data} /
   * {@code mr_config_id}, {@link org.cloister.trust.attestation.LaunchConfiguration}), so that every party knows
   * which files the enclave runs with; a different value given for that name is an error.
   */
  static MeasurementPins withLaunchConfiguration(MeasurementPins pins, byte[] config, byte[] policy) {
    String name = org.cloister.trust.attestation.LaunchConfiguration.measurementName(pins.platform());
    byte[] digest = org.cloister.trust.attestation.LaunchConfiguration.digest(pins.platform(), config, policy);
    Map<String, byte[]> values = new LinkedHashMap<>(pins.values());
    byte[] given = values.get(name);
    if (given != null && !java.util.Arrays.equals(given, digest)) {
      throw new IllegalArgumentException(name + " " + java.util.HexFormat.of().formatHex(given) + " was given, but it "
          + "is the digest of the enclave's configuration and policy, here " + java.util.HexFormat.of().formatHex(digest)
          + ": leave it out, provision computes it");
    }
    values.put(name, digest);
    return new MeasurementPins(pins.platform(), values, pins.acceptOutOfDateTcb(), pins.tcbFloor());
  }

  /** The site.yaml lines pinning the enclave (indented for the enclave: section). */
  private static String siteEnclavePins(MeasurementPins real) {
    if (real == null) {
      return """
            expected_pcrs: expected-pcrs.json   # the enclave image, configuration and policy the consortium reviewed
            attestation_root: attestation-root.crt  # DEVELOPMENT root of the simulated platform (aws: the AWS Nitro root)""";
    }
    if (real.platform() == TeePlatform.NITRO) {
      return """
            expected_pcrs: expected-pcrs.json   # PCR0..2 of the enclave image the consortium built and reviewed
            attestation_root: aws      # the AWS Nitro root pinned in Cloister""";
    }
    return """
            expected_measurements: expected-measurements.json   # %s, vendor roots pinned in Cloister
            collateral_dir: collateral  # `cloister attest collateral` output, carried in (air-gapped sites)""".formatted(
        real.platform().id());
  }

  /** Writes what a party pins for real hardware: expected-pcrs.json (Nitro) or expected-measurements.json. */
  private static void writePins(Path dir, MeasurementPins real, Path collateral) throws IOException {
    if (real.platform() == TeePlatform.NITRO) {
      SecureAggregationSetup.writePcrs(dir.resolve("expected-pcrs.json"), nitroPcrs(real));
    } else {
      Files.writeString(dir.resolve("expected-measurements.json"), real.toJson());
    }
  }

  private static Map<Integer, byte[]> nitroPcrs(MeasurementPins pins) {
    Map<Integer, byte[]> pcrs = new java.util.TreeMap<>();
    pins.values().forEach((name, v) -> pcrs.put(Integer.parseInt(name.substring(3)), v));
    return pcrs;
  }

  /**
   * Where the coordinator binds: the public host name sites dial is usually not an address of this
   * machine (behind NAT or a load balancer), so a kit listens on all interfaces, except for a
   * loopback consortium, which stays on loopback.
   */
  static String listenHost(String publicHost) {
    return publicHost.equals("localhost") || publicHost.startsWith("127.") || publicHost.equals("::1") ? publicHost : "0.0.0.0";
  }

  /**
   * The policy's central DP: the smallest noise multiplier (rounded up, see {@link Calibration}) for
   * which {@code rounds} Gaussian releases of sensitivity S are (epsilon, delta)-DP at the site level
   * (RDP accountant), or null when the study asks for none.
   */
  public static AggregationPolicy.CentralDp centralDp(ConsortiumSpec.CentralDpSpec dp) {
    if (dp == null) {
      return null;
    }
    double z = new Calibration(RdpAccountant::new).noiseMultiplier(dp.epsilon(), dp.delta(), 1.0, dp.rounds());
    return new AggregationPolicy.CentralDp(dp.clipNorm(), z, dp.denominator(), dp.rounds(), dp.delta());
  }

  private static String brokerReadme(ConsortiumSpec spec, ConsortiumSpec.KeyBrokerPlacement placement,
                                     SecureAggregationSetup.BrokerFiles broker) {
    String port = placement.address().substring(placement.address().lastIndexOf(':') + 1);
    return """
        Key broker of consortium %s, run by %s (generated by `cloister provision`).
        It holds the key that protects every stored model and releases it only to an enclave whose
        attestation shows the consortium's PCRs (key-policies.json). Keep this folder on %s's machine;
        the coordinator's host never has it. The coordinator's enclave connects to %s.

          cloister broker run --keystore %s --keystore-password-file %s --policies %s \\
            --tls-cert %s --tls-key %s --audit-log audit.jsonl --admin-token-file %s \\
            --attestation-root attestation-root.crt --listen 0.0.0.0:%s

        (--attestation-root: the DEVELOPMENT root of the simulated platform; omit it with real Nitro hardware.)
        """.formatted(spec.name(), placement.party(), placement.party(), placement.address(),
        broker.keystore().getFileName(), broker.keystorePassword().getFileName(), broker.policies().getFileName(),
        broker.tlsCertificate().getFileName(), broker.tlsKey().getFileName(), broker.adminToken().getFileName(), port);
  }

  private static boolean isIpLiteral(String host) {
    return host.matches("[0-9.]+") || host.contains(":");
  }

  private static void write(Path file, String text) throws IOException {
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }

}

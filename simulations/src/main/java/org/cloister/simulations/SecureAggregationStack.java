package org.cloister.simulations;

import io.grpc.Channel;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.cloister.consortium.SecureAggregationHost;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.consortium.inference.PublishedStudy;
import org.cloister.consortium.inference.SimulationOnly;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.enclave.AttestationRelayService;
import org.cloister.coordinator.enclave.EnclaveAggregator;
import org.cloister.coordinator.enclave.EnclaveProcess;
import org.cloister.coordinator.enclave.JavaProcess;
import org.cloister.coordinator.enclave.SealedModelStore;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.site.sealing.AttestedHpkeSealer;
import org.cloister.site.sealing.SealedModelOpener;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.Pem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every party of secure aggregation on one machine, with real processes and real cryptography:
 * plays the consortium (development attestation root, a CA for the broker's TLS certificate, the
 * members' sealing keys, the enclave configuration and policy and their expected PCRs, the key
 * broker's keystore and key policy), starts the key broker and the enclave as separate OS
 * processes, and gives the coordinator its {@link EnclaveAggregator} and relay, each site its
 * {@link AttestedHpkeSealer}, each member its {@link SealedModelOpener}.
 *
 * <p>The enclave runs from its image jar (system property {@code cloister.enclave.image}, env
 * {@code CLOISTER_ENCLAVE_IMAGE}, or {@code enclave/cloister-enclave.jar} next to the
 * distribution's {@code lib/}); when no image was built (a source tree built only to the test
 * phase) it runs from the development classpath and PCR0 measures only the enclave's own classes.
 */
public final class SecureAggregationStack implements AggregationStack {
  private static final Logger log = LoggerFactory.getLogger(SecureAggregationStack.class);
  /** The policy's default bound on an update's L2 norm for a study without DP (a sanity bound). */
  public static final double DEFAULT_MAX_UPDATE_NORM = 100.0;
  static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  /** Where a study with an out directory keeps the consortium's files: OUT/{@value}. */
  public static final String CONSORTIUM_DIRECTORY = org.cloister.consortium.inference.InferenceDeployment.CONSORTIUM_DIRECTORY;

  /** What the consortium set up (files in {@link #workDirectory()}). */
  public record Setup(Path workDirectory, Path enclaveImage, List<Path> enclaveClasspath, Path config, Path policy,
                      Path devRootCert, Path devRootKey, Map<Integer, byte[]> expectedPcrs, String keyId,
                      Map<String, HpkeKeyPair> memberKeys, Path brokerDirectory, Path auditLog,
                      CertificateAuthority consortium) {
    /** A member's consortium certificate (what it signs its contributions with), valid for a day. */
    public org.cloister.trust.pki.IssuedCertificate issue(String member) {
      Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      return consortium.issueClient(member, now.minus(1, ChronoUnit.HOURS), now.plus(1, ChronoUnit.DAYS));
    }
  }

  private final Setup setup;
  private final SecureAggregationHost host;
  private final SealedModelStore store;
  private final EnclaveAggregator aggregator;
  private final AttestationRelayService relay;
  private final NitroAttestationVerifier verifier;
  private final boolean ownsWorkDirectory;

  private SecureAggregationStack(Setup setup, SecureAggregationHost host, Path storeDirectory,
                                 boolean ownsWorkDirectory) throws IOException {
    this.setup = setup;
    this.host = host;
    this.store = new SealedModelStore(storeDirectory);
    this.aggregator = new EnclaveAggregator(host.enclaveChannel(), store, Duration.ofMinutes(10));
    this.relay = new AttestationRelayService(host.enclaveChannel(), store);
    this.verifier = new NitroAttestationVerifier(Pem.readCertificate(setup.devRootCert()));
    this.ownsWorkDirectory = ownsWorkDirectory;
  }

  /**
   * System property choosing the enclave's development platform: {@code simulated} (default), {@value #SIMULATED_SNP}
   * or {@value #SIMULATED_TDX}.
   */
  public static final String PLATFORM_PROPERTY = "cloister.enclave.platform";
  /** The SEV-SNP test double ({@code SimulatedSnpPlatform}) as the enclave's platform. */
  public static final String SIMULATED_SNP = "simulated-sev-snp";
  /** The TDX test double ({@code SimulatedTdxPlatform}, served through a simulated configfs-tsm tree). */
  public static final String SIMULATED_TDX = "simulated-tdx";
  /** The collateral folder parties read on {@value #SIMULATED_TDX} (TCB info, QE identity, CRLs), in the work directory. */
  public static final String COLLATERAL = "collateral";
  /** The measurements parties pin on {@value #SIMULATED_SNP} / {@value #SIMULATED_TDX}, in the work directory. */
  public static final String EXPECTED_MEASUREMENTS = "expected-measurements.json";

  /** The development platform the enclave runs on ({@link #PLATFORM_PROPERTY}); anything else is an error. */
  public static String platform() {
    String p = System.getProperty(PLATFORM_PROPERTY, "simulated");
    if (!p.equals("simulated") && !p.equals(SIMULATED_SNP) && !p.equals(SIMULATED_TDX)) {
      throw new IllegalArgumentException(PLATFORM_PROPERTY + " must be simulated, " + SIMULATED_SNP + " or "
          + SIMULATED_TDX + ", not '" + p + "'");
    }
    return p;
  }

  static org.cloister.trust.attestation.snp.SimulatedSnpPlatform snpDouble(Path devRootKey) throws IOException {
    try {
      return org.cloister.trust.attestation.snp.SimulatedSnpPlatform.fromSecret(Files.readAllBytes(devRootKey));
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot create the SEV-SNP test double: " + e.getMessage(), e);
    }
  }

  static org.cloister.trust.attestation.tdx.SimulatedTdxPlatform tdxDouble(Path devRootKey) throws IOException {
    try {
      return org.cloister.trust.attestation.tdx.SimulatedTdxPlatform.fromSecret(Files.readAllBytes(devRootKey));
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot create the TDX test double: " + e.getMessage(), e);
    }
  }

  /**
   * What a party pins for an enclave on the SEV-SNP or TDX test double: the double's development root (instead of
   * AMD's / Intel's), the consortium's measurements (launch measurement or MRTD, and the launch value) and, for TDX,
   * the collateral folder from the work directory.
   */
  public static org.cloister.trust.attestation.BoundEvidenceVerifier cvmVerifier(Setup setup) {
    Path work = setup.workDirectory();
    try {
      org.cloister.trust.attestation.MeasurementPins pins = org.cloister.trust.attestation.MeasurementPins.read(
          work.resolve(EXPECTED_MEASUREMENTS));
      if (pins.platform() == org.cloister.trust.attestation.TeePlatform.TDX) {
        return new org.cloister.trust.attestation.BoundEvidenceVerifier(List.of(
            org.cloister.trust.attestation.tdx.TdxVerifier.development(Pem.readCertificate(
                work.resolve(SecureAggregationHost.DEVELOPMENT_INTEL_ROOT)))), pins,
            org.cloister.trust.attestation.Collateral.readDirectory(work.resolve(COLLATERAL)));
      }
      return new org.cloister.trust.attestation.BoundEvidenceVerifier(List.of(
          org.cloister.trust.attestation.snp.SnpVerifier.development(Pem.readCertificate(
              work.resolve(SecureAggregationHost.DEVELOPMENT_AMD_ROOT)))), pins,
          org.cloister.trust.attestation.Collateral.empty());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The strategy as the enclave's policy measures it ({@link SecureAggregationSetup#strategySpec}). */
  static org.cloister.aggregation.strategy.StrategySpec strategySpec(String strategy) {
    return SecureAggregationSetup.strategySpec(strategy);
  }

  /**
   * The cohort floor k of a simulated study: {@value AggregationPolicy#DEFAULT_COHORT_FLOOR}, or the
   * number of sites when a simulation has fewer (never below {@value AggregationPolicy#MIN_COHORT_FLOOR}),
   * said loudly: such a study offers the weaker guarantee of a smaller cohort.
   */
  public static int cohortFloor(int sites) {
    if (sites >= AggregationPolicy.DEFAULT_COHORT_FLOOR) {
      return AggregationPolicy.DEFAULT_COHORT_FLOOR;
    }
    int k = Math.max(AggregationPolicy.MIN_COHORT_FLOOR, sites);
    log.warn("a simulation with {} site(s): the enclave's cohort floor is k = {} instead of the default {}", sites, k,
        AggregationPolicy.DEFAULT_COHORT_FLOOR);
    return k;
  }

  /**
   * Sets up the consortium for a simulated study and starts the key broker and the enclave.
   *
   * @param observers    members that never train (evaluators)
   * @param consortiumCa the CA that issues the members' certificates (they sign contributions)
   */
  public static SecureAggregationStack start(SimulationConfig cfg, ModelArtifact initialModel, List<String> members,
                                             java.util.Set<String> observers, CertificateAuthority consortiumCa)
      throws IOException {
    // with an out directory the consortium's files and the published (encrypted) models stay in
    // OUT/consortium, so the inference tier can serve the model after the study (docs/inference.md)
    Path work = cfg.outDir() == null ? Files.createTempDirectory("cloister-secure-")
        : freshDirectory(cfg.outDir().resolve(CONSORTIUM_DIRECTORY));
    try {
      double bound = Double.parseDouble(System.getProperty("cloister.enclave.max-update-norm",
          String.valueOf(DEFAULT_MAX_UPDATE_NORM)));
      AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, cfg.studyId(),
          initialModel.getModelName(), (int) initialModel.getDimension(), bound, cfg.minSitesPerRound(),
          cohortFloor(members.size() - observers.size()), null, strategySpec(cfg.strategy()));
      Setup setup = prepare(work, policy, members, observers, consortiumCa, locateImage(), cfg.outDir() == null ? null
          : cfg.outDir().resolve("key-broker-audit.jsonl"));
      if (cfg.outDir() != null) {
        publishedStudy(cfg, initialModel.getModelName(), initialModel.getDimension()).write(work);
        org.cloister.data.ModelCard card;
        try {
          card = SimulationData.modelCard(cfg);
        } catch (IllegalArgumentException e) { // the study ran; only inference from this folder lacks the card
          LoggerFactory.getLogger(SecureAggregationStack.class).warn("no model card for study {}: {}", cfg.studyId(),
              e.getMessage());
          card = null;
        }
        if (card != null) { // what inference serves with the model: features, their public rules, class names
          Files.write(work.resolve(org.cloister.data.ModelCard.FILE), card.toJson());
        }
        SimulationOnly.mark(work); // seeded noise: the published models carry no privacy guarantee
      }
      return launch(setup, null, cfg.outDir() == null);
    } catch (IOException | RuntimeException e) {
      deleteTree(work);
      throw e;
    }
  }

  /**
   * Writes every file the consortium and the parties need into {@code work}.
   *
   * @param image    the enclave image jar, or null to run the enclave from the development classpath
   * @param auditLog where the key broker writes its audit log (null: in the broker's directory)
   */
  public static Setup prepare(Path work, AggregationPolicy policy, List<String> members, Path image, Path auditLog)
      throws IOException {
    return prepare(work, policy, members, java.util.Set.of(), null, image, auditLog);
  }

  /**
   * Writes every file the consortium and the parties need into {@code work}.
   *
   * @param observers    members that never train
   * @param consortiumCa the CA that issues the members' certificates, or null to create one (then
   *                     {@link Setup#consortium()} issues them)
   * @param image        the enclave image jar, or null to run the enclave from the development classpath
   * @param auditLog     where the key broker writes its audit log (null: in the broker's directory)
   */
  public static Setup prepare(Path work, AggregationPolicy policy, List<String> members, java.util.Set<String> observers,
                              CertificateAuthority consortiumCa, Path image, Path auditLog) throws IOException {
    Files.createDirectories(work);
    SecureRandom random = new SecureRandom();
    Clock clock = Clock.systemUTC();
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);

    // the development attestation root: verifiers trust it only because we configure it explicitly
    Path devCert = work.resolve("dev-attestation-root.pem");
    Path devKey = work.resolve("dev-attestation-root.key");
    // the run's one development-platform warning: the broker, the enclave and this process's sites do not repeat it
    org.cloister.site.sealing.AttestedHpkeSealer.alreadyWarned(
        SecureAggregationSetup.developmentRoot(devCert, devKey, clock, random).rootCertificate());

    // a CA for the broker's TLS certificate (the enclave pins the CA in its configuration)
    CertificateAuthority ca = CertificateAuthority.createRoot("Cloister development consortium CA", EcCurve.P256,
        now.minus(1, ChronoUnit.HOURS), now.plus(30, ChronoUnit.DAYS), random);
    SecureAggregationSetup.BrokerFiles broker = SecureAggregationSetup.brokerTls(ca, work.resolve("key-broker"),
        now.minus(1, ChronoUnit.HOURS), now.plus(30, ChronoUnit.DAYS));

    // members' sealing keys (in a real consortium each member generates its own and sends the public key)
    Map<String, HpkeKeyPair> keys = new LinkedHashMap<>();
    Map<String, byte[]> publicKeys = new LinkedHashMap<>();
    for (String m : members) {
      HpkeKeyPair kp = SecureAggregationSetup.newSealingKey();
      keys.put(m, kp);
      publicKeys.put(m, kp.publicKey());
    }
    CertificateAuthority consortium = consortiumCa != null ? consortiumCa : ca;
    SecureAggregationSetup.EnclaveFiles files = SecureAggregationSetup.enclaveFiles(work, policy, publicKeys, observers,
        consortium.certificate(), ca.certificate());
    Map<Integer, byte[]> pcrs = SecureAggregationSetup.expectedPcrs(image, files);
    // beside the attestation root: what `cloister receipts verify` checks the enclave's receipts against
    SecureAggregationSetup.writePcrs(work.resolve("expected-pcrs.json"), pcrs);
    if (SIMULATED_SNP.equals(platform())) {
      // the SEV-SNP test double: launch measurement = PCR0 (the image), host_data = the files' launch value
      org.cloister.trust.attestation.MeasurementPins pins = new org.cloister.trust.attestation.MeasurementPins(
          org.cloister.trust.attestation.TeePlatform.SEV_SNP, Map.of("measurement", pcrs.get(0), "host_data",
          org.cloister.trust.attestation.LaunchConfiguration.digest(org.cloister.trust.attestation.TeePlatform.SEV_SNP,
              Files.readAllBytes(files.config()), Files.readAllBytes(files.policy()))), false);
      Files.writeString(work.resolve(EXPECTED_MEASUREMENTS), pins.toJson());
      org.cloister.trust.attestation.snp.SimulatedSnpPlatform snp = snpDouble(devKey);
      Pem.writeCertificates(work.resolve(SecureAggregationHost.DEVELOPMENT_AMD_ROOT), List.of(snp.ark()));
      Pem.writeCertificates(broker.directory().resolve(SecureAggregationHost.DEVELOPMENT_AMD_ROOT), List.of(snp.ark()));
      Path collateral = Files.createDirectories(broker.directory().resolve("collateral"));
      Files.write(collateral.resolve("vcek.der"), snp.chainDer().get(0));
      Files.write(collateral.resolve("ask.der"), snp.chainDer().get(1));
      SecureAggregationSetup.brokerDirectory(broker, files.keyId(), pins, random);
    } else if (SIMULATED_TDX.equals(platform())) {
      // the TDX test double: MRTD = PCR0 (the image), its fixed RTMRs, MRCONFIGID = the files' launch value
      org.cloister.trust.attestation.MeasurementPins pins = new org.cloister.trust.attestation.MeasurementPins(
          org.cloister.trust.attestation.TeePlatform.TDX, Map.of("mr_td", pcrs.get(0),
          "rtmr0", org.cloister.trust.attestation.tdx.SimulatedTdxPlatform.rtmr(0),
          "rtmr1", org.cloister.trust.attestation.tdx.SimulatedTdxPlatform.rtmr(1),
          "rtmr2", org.cloister.trust.attestation.tdx.SimulatedTdxPlatform.rtmr(2),
          "rtmr3", org.cloister.trust.attestation.tdx.SimulatedTdxPlatform.rtmr(3), "mr_config_id",
          org.cloister.trust.attestation.LaunchConfiguration.digest(org.cloister.trust.attestation.TeePlatform.TDX,
              Files.readAllBytes(files.config()), Files.readAllBytes(files.policy()))), false);
      Files.writeString(work.resolve(EXPECTED_MEASUREMENTS), pins.toJson());
      org.cloister.trust.attestation.tdx.SimulatedTdxPlatform tdx = tdxDouble(devKey);
      for (Path dir : List.of(work, broker.directory())) {
        Pem.writeCertificates(dir.resolve(SecureAggregationHost.DEVELOPMENT_INTEL_ROOT), List.of(tdx.root()));
        try {
          // Intel's PCS (the double's) as fetched an hour ago: valid for 30 days
          new org.cloister.trust.attestation.tdx.SimulatedIntelPcs(tdx).writeCollateral(dir.resolve(COLLATERAL),
              now.minus(1, ChronoUnit.HOURS));
        } catch (java.security.GeneralSecurityException e) {
          throw new IOException("cannot write the TDX test double's collateral: " + e.getMessage(), e);
        }
      }
      SecureAggregationSetup.brokerDirectory(broker, files.keyId(), pins, random);
    } else {
      SecureAggregationSetup.brokerDirectory(broker, files.keyId(), pcrs, random);
    }
    Path audit = auditLog != null ? auditLog : broker.directory().resolve("audit.jsonl");
    Files.createDirectories(audit.toAbsolutePath().getParent());
    List<Path> classpath = image != null ? List.of(image) : currentClasspath();
    return new Setup(work, image, classpath, files.config(), files.policy(), devCert, devKey, pcrs, files.keyId(), keys,
        broker.directory(), audit, consortium);
  }

  /**
   * Starts the key broker and the enclave for {@code setup}.
   *
   * @param enclaveClasspath the enclave to run instead of the consortium's (tests of a modified image), or null
   */
  public static SecureAggregationStack launch(Setup setup, List<Path> enclaveClasspath, boolean ownsWorkDirectory)
      throws IOException {
    SecureAggregationHost host = SecureAggregationHost.start(new SecureAggregationHost.Launch(
        new SecureAggregationSetup.BrokerFiles(setup.brokerDirectory()), setup.auditLog(),
        enclaveClasspath != null ? enclaveClasspath : setup.enclaveClasspath(),
        new SecureAggregationSetup.EnclaveFiles(setup.config(), setup.policy(), setup.keyId()), setup.devRootCert(),
        setup.devRootKey(), platform()), START_TIMEOUT);
    try {
      return new SecureAggregationStack(setup, host, setup.workDirectory().resolve("coordinator-store"),
          ownsWorkDirectory);
    } catch (IOException | RuntimeException e) {
      host.close();
      throw e;
    }
  }

  @Override
  public Aggregator aggregator() {
    return aggregator;
  }

  @Override
  public void registerServices(NettyServerBuilder coordinatorServer) {
    coordinatorServer.addService(relay);
  }

  /** The relay: the enclave's round challenge and the sealed model copy go out with each site's task. */
  @Override
  public org.cloister.coordinator.service.TaskAttachments taskAttachments() {
    return relay;
  }

  @Override
  public UpdateSealer sealer(String siteId, Channel coordinator) {
    if (SIMULATED_SNP.equals(platform()) || SIMULATED_TDX.equals(platform())) {
      return new AttestedHpkeSealer(coordinator, siteId, cvmVerifier(setup),
          new SealedModelOpener(coordinator, siteId, memberKey(siteId)), Clock.systemUTC(), new SecureRandom());
    }
    return new AttestedHpkeSealer(coordinator, siteId, verifier, setup.expectedPcrs(),
        new SealedModelOpener(coordinator, siteId, memberKey(siteId)), Clock.systemUTC(), new SecureRandom());
  }

  @Override
  public float[] open(String memberId, ModelArtifact model, Channel coordinator) {
    return new SealedModelOpener(coordinator, memberId, memberKey(memberId)).open(model, (int) model.getDimension());
  }

  private HpkeKeyPair memberKey(String id) {
    HpkeKeyPair k = setup.memberKeys().get(id);
    if (k == null) {
      throw new IllegalArgumentException(id + " is not a consortium member of this stack");
    }
    return k;
  }

  public Setup setup() {
    return setup;
  }

  public Path workDirectory() {
    return setup.workDirectory();
  }

  /** Where the coordinator's sealed model store persists what it keeps. */
  public Path storeDirectory() {
    return setup.workDirectory().resolve("coordinator-store");
  }

  public EnclaveProcess enclave() {
    return host.enclave();
  }

  public JavaProcess broker() {
    return host.broker();
  }

  @Override
  public void close() {
    host.close();
    if (ownsWorkDirectory) {
      deleteTree(setup.workDirectory());
    }
  }

  // ------------------------------------------------------------------ helpers

  /** The enclave image jar to run, or null when none was built ({@link SecureAggregationSetup#locateImage}). */
  public static Path locateImage() {
    return SecureAggregationSetup.locateImage();
  }

  /** Describes the study {@code cfg} runs (the dataset is read for its shape only); simulation-only. */
  static PublishedStudy publishedStudy(SimulationConfig cfg, String modelName, long dimension) {
    org.cloister.data.Dataset d = SimulationData.load(cfg).dataset();
    return new PublishedStudy(cfg.studyId(), modelName, dimension, d.numFeatures(), d.numClasses(), true);
  }

  public static List<Path> currentClasspath() {
    return SecureAggregationSetup.currentClasspath();
  }

  private static Path freshDirectory(Path dir) throws IOException {
    deleteTree(dir);
    return Files.createDirectories(dir);
  }

  /** Deletes a directory tree, warning (not failing) about what cannot be deleted. */
  public static void deleteTree(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException | UncheckedIOException e) {
      log.warn("could not delete {}: {}", root, e.getMessage());
    }
  }
}

package org.cloister.simulations;

import io.grpc.Channel;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.stream.Stream;
import org.cloister.broker.BrokerKeystore;
import org.cloister.broker.KeyBrokerMain;
import org.cloister.broker.KeyPolicies;
import org.cloister.broker.KeyPolicy;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.enclave.AttestationRelayService;
import org.cloister.coordinator.enclave.EnclaveAggregator;
import org.cloister.coordinator.enclave.EnclaveProcess;
import org.cloister.coordinator.enclave.JavaProcess;
import org.cloister.coordinator.enclave.SealedModelStore;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.ImageMeasurement;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.site.sealing.AttestedHpkeSealer;
import org.cloister.site.sealing.SealedModelOpener;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
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
  static final String BROKER_NAME = "cloister-key-broker";
  static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  /** Where a study with an out directory keeps the consortium's files: OUT/{@value}. */
  public static final String CONSORTIUM_DIRECTORY = "consortium";

  /** What the consortium set up (files in {@link #workDirectory()}). */
  public record Setup(Path workDirectory, Path enclaveImage, List<Path> enclaveClasspath, Path config, Path policy,
                      Path devRootCert, Path devRootKey, Map<Integer, byte[]> expectedPcrs, String keyId,
                      Map<String, HpkeKeyPair> memberKeys, Path brokerDirectory, Path auditLog) {
  }

  private final Setup setup;
  private final JavaProcess broker;
  private final EnclaveProcess enclave;
  private final SealedModelStore store;
  private final EnclaveAggregator aggregator;
  private final NitroAttestationVerifier verifier;
  private final boolean ownsWorkDirectory;

  private SecureAggregationStack(Setup setup, JavaProcess broker, EnclaveProcess enclave, Path storeDirectory,
                                 boolean ownsWorkDirectory) throws IOException {
    this.setup = setup;
    this.broker = broker;
    this.enclave = enclave;
    this.store = new SealedModelStore(storeDirectory);
    this.aggregator = new EnclaveAggregator(enclave.channel(), store, Duration.ofMinutes(10));
    this.verifier = new NitroAttestationVerifier(Pem.readCertificate(setup.devRootCert()));
    this.ownsWorkDirectory = ownsWorkDirectory;
  }

  /**
   * The enclave's server optimizer for a strategy name: plain FedAvg, or the adaptive server
   * optimizers of Reddi et al. 2021 ("Adaptive Federated Optimization") with their defaults
   * (server learning rate 0.1, beta1 0.9, beta2 0.99, tau 1e-3), applied to the averaged update.
   */
  static AggregationPolicy.ServerOptimizerSpec serverOptimizer(String strategy) {
    return switch (org.cloister.coordinator.strategy.Strategies.baseName(strategy)) {
      // FedProx's proximal term is applied by the sites; the server averages as FedAvg does
      case "fedavg", "fedprox" -> AggregationPolicy.ServerOptimizerSpec.fedAvg();
      case "fedadam", "fedyogi" -> new AggregationPolicy.ServerOptimizerSpec(strategy, 0.1, 0.9, 0.99, 1e-3);
      default -> throw new IllegalArgumentException("unknown strategy '" + strategy + "'");
    };
  }

  /** Sets up the consortium for a simulated study and starts the key broker and the enclave. */
  public static SecureAggregationStack start(SimulationConfig cfg, ModelArtifact initialModel, List<String> members)
      throws IOException {
    // with an out directory the consortium's files and the published (encrypted) models stay in
    // OUT/consortium, so the inference tier can serve the model after the study (docs/inference.md)
    Path work = cfg.outDir() == null ? Files.createTempDirectory("cloister-secure-")
        : freshDirectory(cfg.outDir().resolve(CONSORTIUM_DIRECTORY));
    try {
      double bound = Double.parseDouble(System.getProperty("cloister.enclave.max-update-norm",
          String.valueOf(DEFAULT_MAX_UPDATE_NORM)));
      AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, cfg.studyId(),
          initialModel.getModelName(), (int) initialModel.getDimension(), bound, cfg.minSitesPerRound(), 0.0,
          serverOptimizer(cfg.strategy()));
      Setup setup = prepare(work, policy, members, locateImage(), cfg.outDir() == null ? null
          : cfg.outDir().resolve("key-broker-audit.jsonl"));
      if (cfg.outDir() != null) {
        PublishedStudy.of(cfg, initialModel.getModelName(), initialModel.getDimension()).write(work);
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
    Files.createDirectories(work);
    SecureRandom random = new SecureRandom();
    Clock clock = Clock.systemUTC();
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);

    // the development attestation root: verifiers trust it only because we configure it explicitly
    DevelopmentAttestationAuthority authority = DevelopmentAttestationAuthority.generate(clock, random);
    Path devCert = work.resolve("dev-attestation-root.pem");
    Path devKey = work.resolve("dev-attestation-root.key");
    authority.save(devCert, devKey);

    // the consortium CA and the broker's TLS certificate (the enclave pins the CA in its configuration)
    CertificateAuthority ca = CertificateAuthority.createRoot("Cloister development consortium CA", EcCurve.P256,
        now.minus(1, ChronoUnit.HOURS), now.plus(30, ChronoUnit.DAYS), random);
    IssuedCertificate tls = ca.issueServer(BROKER_NAME, List.of(BROKER_NAME, "localhost"), List.of("127.0.0.1"),
        now.minus(1, ChronoUnit.HOURS), now.plus(30, ChronoUnit.DAYS));
    Path brokerDir = Files.createDirectories(work.resolve("key-broker"));
    Pem.writeCertificates(brokerDir.resolve("tls.pem"), tls.chain());
    Pem.writePrivateKey(brokerDir.resolve("tls.key"), tls.privateKey());

    // members' sealing keys (in a real consortium each member generates its own and sends the public key)
    Hpke hpke = new Hpke();
    Map<String, HpkeKeyPair> keys = new LinkedHashMap<>();
    List<EnclaveConfig.Member> roster = new ArrayList<>();
    for (String m : members) {
      HpkeKeyPair kp = hpke.generateKeyPair();
      keys.put(m, kp);
      roster.add(new EnclaveConfig.Member(m, HexFormat.of().formatHex(kp.publicKey())));
    }
    String keyId = "cloister/model/" + policy.studyId().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", "-");
    EnclaveConfig config = new EnclaveConfig(EnclaveConfig.FORMAT, "cloister-secure-aggregator", roster,
        new EnclaveConfig.KeyBroker(keyId, Pem.certificatesToPem(List.of(ca.certificate())), BROKER_NAME));
    Path configFile = work.resolve("enclave-config.json");
    Path policyFile = work.resolve("aggregation-policy.json");
    Files.write(configFile, config.toJson());
    Files.write(policyFile, policy.toJson());

    // what the enclave will run from, and the PCRs the consortium expects of it
    List<Path> classpath;
    Path measured;
    if (image != null) {
      classpath = List.of(image);
      measured = image;
    } else {
      classpath = currentClasspath();
      measured = ImageMeasurement.codeArtifact();
      log.warn("no enclave image jar was built: the enclave runs from the development classpath and PCR0 measures "
          + "only {}", measured);
    }
    Map<Integer, byte[]> pcrs = ImageMeasurement.pcrs(measured, Files.readAllBytes(configFile),
        Files.readAllBytes(policyFile));

    // the key broker's protected keystore and the key's policy pinning those PCRs
    char[] password = randomSecret(random).toCharArray();
    writeSecret(brokerDir.resolve("keystore.password"), new String(password));
    writeSecret(brokerDir.resolve("admin.token"), randomSecret(random));
    BrokerKeystore keystore = BrokerKeystore.create(brokerDir.resolve("keystore.p12"), password, random);
    keystore.createKey(keyId);
    KeyPolicies.create(brokerDir.resolve("key-policies.json")).put(KeyPolicy.of(keyId, pcrs));
    Path audit = auditLog != null ? auditLog : brokerDir.resolve("audit.jsonl");
    Files.createDirectories(audit.toAbsolutePath().getParent());
    return new Setup(work, image, classpath, configFile, policyFile, devCert, devKey, pcrs, keyId, keys, brokerDir, audit);
  }

  /**
   * Starts the key broker and the enclave for {@code setup}.
   *
   * @param enclaveClasspath the enclave to run instead of the consortium's (tests of a modified image), or null
   */
  public static SecureAggregationStack launch(Setup setup, List<Path> enclaveClasspath, boolean ownsWorkDirectory)
      throws IOException {
    int dimension = AggregationPolicy.parse(Files.readAllBytes(setup.policy())).dimension();
    // four decrypted updates, the running sum and its spare, one update in transit, and headroom
    String heap = Math.max(256, (8L * dimension * Float.BYTES) / (1 << 20) + 192) + "m";
    JavaProcess broker = startBroker(setup);
    try {
      EnclaveProcess enclave = EnclaveProcess.start(new EnclaveProcess.Launch(
          enclaveClasspath != null ? enclaveClasspath : setup.enclaveClasspath(), setup.config(), setup.policy(),
          new InetSocketAddress("127.0.0.1", broker.port()), setup.devRootCert(), setup.devRootKey(), heap),
          START_TIMEOUT);
      log.info("secure aggregation: key broker pid {}, enclave pid {} (PCR0 {})", broker.pid(), enclave.pid(), enclave.pcr0());
      return new SecureAggregationStack(setup, broker, enclave, setup.workDirectory().resolve("coordinator-store"),
          ownsWorkDirectory);
    } catch (IOException | RuntimeException e) {
      broker.close();
      throw e;
    }
  }

  static JavaProcess startBroker(Setup s) throws IOException {
    Path d = s.brokerDirectory();
    return JavaProcess.start("key-broker", List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=info"), currentClasspath(), KeyBrokerMain.class.getName(),
        List.of("--keystore", d.resolve("keystore.p12").toString(),
            "--keystore-password-file", d.resolve("keystore.password").toString(),
            "--policies", d.resolve("key-policies.json").toString(),
            "--tls-cert", d.resolve("tls.pem").toString(), "--tls-key", d.resolve("tls.key").toString(),
            "--audit-log", s.auditLog().toString(), "--admin-token-file", d.resolve("admin.token").toString(),
            "--attestation-root", s.devRootCert().toString(), "--listen", "127.0.0.1:0", "--exit-with-parent"),
        KeyBrokerMain.READY, KeyBrokerMain.FAILED, START_TIMEOUT);
  }

  @Override
  public Aggregator aggregator() {
    return aggregator;
  }

  @Override
  public void registerServices(NettyServerBuilder coordinatorServer) {
    coordinatorServer.addService(new AttestationRelayService(enclave.channel(), store));
  }

  @Override
  public UpdateSealer sealer(String siteId, Channel coordinator) {
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
    return enclave;
  }

  public JavaProcess broker() {
    return broker;
  }

  @Override
  public void close() {
    enclave.close();
    broker.close();
    if (ownsWorkDirectory) {
      deleteTree(setup.workDirectory());
    }
  }

  // ------------------------------------------------------------------ helpers

  /** The enclave image jar to run, or null when none was built (development classpath). */
  public static Path locateImage() {
    String configured = System.getProperty("cloister.enclave.image", System.getenv("CLOISTER_ENCLAVE_IMAGE"));
    if (configured != null && !configured.isBlank()) {
      Path p = Path.of(configured);
      if (Files.isRegularFile(p)) {
        return p;
      }
      log.warn("enclave image {} does not exist (build it with ./mvnw -pl secure-aggregator-enclave -am package)", p);
    }
    try {
      Path self = Path.of(SecureAggregationStack.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (Files.isRegularFile(self) && self.getParent() != null && self.getParent().getParent() != null) {
        Path candidate = self.getParent().getParent().resolve("enclave").resolve("cloister-enclave.jar");
        if (Files.isRegularFile(candidate)) {
          return candidate;
        }
      }
    } catch (URISyntaxException | RuntimeException e) {
      // fall through to the development classpath
    }
    return null;
  }

  public static List<Path> currentClasspath() {
    List<Path> out = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (!e.isBlank()) {
        out.add(Path.of(e).toAbsolutePath());
      }
    }
    return out;
  }

  private static Path freshDirectory(Path dir) throws IOException {
    deleteTree(dir);
    return Files.createDirectories(dir);
  }

  private static String randomSecret(SecureRandom random) {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private static void writeSecret(Path file, String secret) throws IOException {
    Files.deleteIfExists(file);
    try {
      Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(file);
    }
    Files.writeString(file, secret, StandardCharsets.US_ASCII);
  }

  static void deleteTree(Path root) {
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

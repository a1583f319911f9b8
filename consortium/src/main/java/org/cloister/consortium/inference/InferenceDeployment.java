package org.cloister.consortium.inference;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import org.cloister.consortium.SecureAggregationSetup;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.cloister.broker.KeyPolicies;
import org.cloister.broker.KeyPolicy;
import org.cloister.coordinator.enclave.JavaProcess;
import org.cloister.coordinator.inference.InferenceEnclaveProcess;
import org.cloister.coordinator.inference.InferenceRelayService;
import org.cloister.coordinator.service.IdentityInterceptor;
import org.cloister.coordinator.service.SiteIdentityResolver;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.runtime.CodeMeasurement;
import org.cloister.inference.enclave.InferenceConfig;
import org.cloister.inference.enclave.InferenceMain;
import org.cloister.inference.enclave.InferenceMeasurement;
import org.cloister.inference.enclave.InferencePolicy;
import org.cloister.trust.attestation.DevelopmentWarning;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference tier for a study run with secure aggregation, on one machine: as the consortium,
 * {@link #provision} writes the inference enclave's configuration and policy, measures its PCRs,
 * publishes them ({@value #EXPECTED_PCRS_FILE}) and grants that enclave {@code Decrypt} on the
 * model key (a grant of its own, beside the aggregator's PCRs); as the host, {@link #serve} starts
 * the key broker from the consortium directory, the inference enclave as a separate process, and
 * the public endpoint that relays ciphertext to it.
 *
 * <p>The enclave runs from its image directory (system property {@code cloister.inference.image},
 * env {@code CLOISTER_INFERENCE_IMAGE}, or {@code inference-enclave/} next to the distribution's
 * {@code lib/}); without one (a source tree built only to the test phase) from the development
 * classpath, and PCR0 measures only the inference enclave's own classes.
 */
public final class InferenceDeployment implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(InferenceDeployment.class);
  /** The grant's role in the key policy. */
  public static final String ROLE = "inference";
  /** Where a study run with an out directory keeps the consortium's files: OUT/{@value}. */
  public static final String CONSORTIUM_DIRECTORY = "consortium";
  public static final String EXPECTED_PCRS_FILE = "inference-expected-pcrs.json";
  static final Duration START_TIMEOUT = Duration.ofSeconds(120);

  /**
   * Where a deployment's files are: a simulation's consortium directory ({@link #simulation}) or a
   * provisioned coordinator kit ({@link #coordinatorKit}).
   *
   * @param enclaveConfig the secure aggregator's configuration (the model key's id and the broker's CA)
   * @param keyBroker     the key broker's directory (keystore, key-policies.json), as provisioned
   * @param devRootCert   the simulated platform's development attestation root (certificate)
   * @param devRootKey    its key (the simulated platform signs the inference enclave's documents with it)
   * @param inference     where the inference enclave's configuration, policy and expected PCRs are written
   * @param store         the published models: STUDY/vV/model.bin
   * @param brokerAudit   the key broker's audit log when this deployment starts one
   */
  public record Layout(Path enclaveConfig, Path keyBroker, Path devRootCert, Path devRootKey, Path inference, Path store,
                       Path brokerAudit) {
    /** A simulation's {@code OUT/consortium} directory. */
    public static Layout simulation(Path consortium) {
      Path brokerDir = consortium.resolve("key-broker");
      return new Layout(consortium.resolve("enclave-config.json"), brokerDir, consortium.resolve("dev-attestation-root.pem"),
          consortium.resolve("dev-attestation-root.key"), consortium.resolve("inference"),
          consortium.resolve("coordinator-store"), consortium.getParent() != null
              ? consortium.getParent().resolve("key-broker-audit.jsonl") : brokerDir.resolve("audit.jsonl"));
    }

    /** A coordinator kit from {@code cloister provision} (simulated platform), after a study ran from it. */
    public static Layout coordinatorKit(Path kit) {
      Path enclave = kit.resolve("enclave");
      return new Layout(enclave.resolve("enclave-config.json"), kit.resolve("key-broker"),
          enclave.resolve("platform").resolve("dev-attestation-root.crt"),
          enclave.resolve("platform").resolve("dev-attestation-root.key"), kit.resolve("inference"),
          kit.resolve("sealed-models"), kit.resolve("inference").resolve("key-broker-audit.jsonl"));
    }
  }

  /** What the consortium set up for the inference enclave (files in {@code directory}). */
  public record Provisioned(Path directory, Path config, Path policy, List<Path> classpath,
                            Map<Integer, byte[]> expectedPcrs) {
  }

  private final JavaProcess broker;
  private final InferenceEnclaveProcess enclave;
  private final Server host;
  private final ManagedChannel toEnclave;
  private final EventLoopGroup relayLoop;

  private InferenceDeployment(JavaProcess broker, InferenceEnclaveProcess enclave, Server host, ManagedChannel toEnclave,
                              EventLoopGroup relayLoop) {
    this.broker = broker;
    this.enclave = enclave;
    this.host = host;
    this.toEnclave = toEnclave;
    this.relayLoop = relayLoop;
  }

  /**
   * As the consortium: the inference enclave's configuration and policy for the study in
   * {@code consortium}, its expected PCRs, and a {@code Decrypt}-only grant on the model key.
   * The key broker reads the grant when it starts.
   *
   * @param image the inference enclave's image directory, or null for the development classpath
   */
  public static Provisioned provision(Path consortium, InferencePolicy policy, Path image) throws IOException {
    return provision(Layout.simulation(consortium), policy, image);
  }

  /** {@link #provision(Path, InferencePolicy, Path)} for the files of {@code layout}. */
  public static Provisioned provision(Layout layout, InferencePolicy policy, Path image) throws IOException {
    if (!Files.isRegularFile(layout.keyBroker().resolve("key-policies.json"))) {
      throw new IOException(layout.keyBroker() + " holds no key-policies.json: the key broker runs elsewhere (its party "
          + "grants the inference enclave Decrypt); this host cannot");
    }
    EnclaveConfig aggregator = EnclaveConfig.parse(Files.readAllBytes(layout.enclaveConfig()));
    Path dir = Files.createDirectories(layout.inference());
    InferenceConfig config = new InferenceConfig(InferenceConfig.FORMAT, "cloister-inference-enclave",
        aggregator.keyBroker().keyId(), aggregator.keyBroker().caCertificatePem(), aggregator.keyBroker().serverName());
    Path configFile = dir.resolve("inference-config.json");
    Path policyFile = dir.resolve("inference-policy.json");
    Files.write(configFile, config.toJson());
    Files.write(policyFile, policy.toJson());
    List<Path> classpath;
    Path measured;
    if (image != null) {
      classpath = imageClasspath(image);
      measured = image;
    } else {
      classpath = SecureAggregationSetup.currentClasspath();
      measured = CodeMeasurement.codeArtifact(InferenceMain.class);
      log.warn("no inference enclave image was built: it runs from the development classpath and PCR0 measures only {}",
          measured);
    }
    Map<Integer, byte[]> pcrs = InferenceMeasurement.pcrs(measured, Files.readAllBytes(configFile),
        Files.readAllBytes(policyFile));
    Path policiesFile = layout.keyBroker().resolve("key-policies.json");
    KeyPolicies policies = KeyPolicies.load(policiesFile);
    KeyPolicy keyPolicy = policies.get(config.keyId()).orElseThrow(() -> new IOException(policiesFile
        + " has no policy for the model key " + config.keyId()));
    policies.put(keyPolicy.withGrant(KeyPolicy.Grant.of(ROLE, List.of("Decrypt"), pcrs)));
    SecureAggregationSetup.writePcrs(dir.resolve(EXPECTED_PCRS_FILE), pcrs);
    return new Provisioned(dir, configFile, policyFile, classpath, pcrs);
  }

  /**
   * The study's model card in a consortium directory ({@value org.cloister.data.ModelCard#FILE}), or
   * null when there is none (a directory written before cards existed, or a synthetic cohort).
   *
   * @throws IOException a card that does not parse or is another study's, naming the file
   */
  public static org.cloister.data.ModelCard modelCard(Path consortium, String studyId) throws IOException {
    Path f = consortium.resolve(org.cloister.data.ModelCard.FILE);
    if (!Files.isRegularFile(f)) {
      return null;
    }
    org.cloister.data.ModelCard card;
    try {
      card = org.cloister.data.ModelCard.parse(Files.readAllBytes(f), f.toString());
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage(), e);
    }
    if (!card.studyId().equals(studyId)) {
      throw new IOException(f + " is the model card of study " + card.studyId() + ", not " + studyId);
    }
    return card;
  }

  /** The latest published version of {@code studyId} in the consortium directory's store. */
  public static long latestVersion(Path consortium, String studyId) throws IOException {
    return latestVersion(Layout.simulation(consortium), studyId);
  }

  /** The latest published version of {@code studyId} in the layout's store. */
  public static long latestVersion(Layout layout, String studyId) throws IOException {
    Path consortium = layout.store().getParent();
    Path study = layout.store().resolve(studyId);
    long latest = 0;
    if (Files.isDirectory(study)) {
      try (Stream<Path> s = Files.list(study)) {
        for (Path p : (Iterable<Path>) s::iterator) {
          String n = p.getFileName().toString();
          if (n.matches("v[0-9]{1,18}") && Files.isRegularFile(p.resolve("model.bin"))) {
            latest = Math.max(latest, Long.parseLong(n.substring(1)));
          }
        }
      }
    }
    if (latest == 0) {
      throw new IOException("no published model of study " + studyId + " in " + consortium);
    }
    return latest;
  }

  /** The published artifact of {@code version} in the consortium directory's store. */
  public static Path artifact(Path consortium, String studyId, long version) throws IOException {
    return artifact(Layout.simulation(consortium), studyId, version);
  }

  /** The published artifact of {@code version} in the layout's store. */
  public static Path artifact(Layout layout, String studyId, long version) throws IOException {
    Path consortium = layout.store().getParent();
    Path f = layout.store().resolve(studyId).resolve("v" + version).resolve("model.bin");
    if (!Files.isRegularFile(f)) {
      List<String> versions = new ArrayList<>();
      Path study = f.getParent().getParent();
      if (Files.isDirectory(study)) {
        try (Stream<Path> s = Files.list(study)) {
          s.map(p -> p.getFileName().toString()).sorted().forEach(versions::add);
        }
      }
      throw new IOException("no published model version " + version + " of study " + studyId + " in " + consortium
          + (versions.isEmpty() ? "" : " (published: " + String.join(", ", versions) + ")"));
    }
    return f;
  }

  /**
   * As the host: starts the key broker of the consortium directory (unless {@code brokerAddress} is
   * given), the inference enclave serving {@code artifact}, and the public endpoint on {@code listen}.
   *
   * @param enclaveClasspath another enclave to run than the provisioned one (tests of a modified image), or null
   * @param credentials      the endpoint's transport (mutual TLS in a deployment)
   * @param identities       how the endpoint learns the client's identity for the enclave's audit
   */
  public static InferenceDeployment serve(Path consortium, Provisioned p, Path artifact, Path auditLog,
                                          InetSocketAddress brokerAddress, List<Path> enclaveClasspath,
                                          InetSocketAddress listen, ServerCredentials credentials,
                                          SiteIdentityResolver identities) throws IOException {
    return serve(Layout.simulation(consortium), p, artifact, auditLog, brokerAddress, enclaveClasspath, listen,
        credentials, identities, Map.of());
  }

  /**
   * The development-platform warning for serving from {@code layout} (its enclave runs on the simulated platform and
   * its key broker trusts the development root), naming the root; empty when the layout has no development root.
   * A caller that prints it passes {@link DevelopmentWarning#warnedEnvironment()} to {@link #serve(Layout, Provisioned,
   * Path, Path, InetSocketAddress, List, InetSocketAddress, ServerCredentials, SiteIdentityResolver, Map)}.
   */
  public static java.util.Optional<String> developmentWarning(Layout layout) {
    return layout.devRootCert() == null ? java.util.Optional.empty()
        : java.util.Optional.of(DevelopmentWarning.simulatedPlatform("the inference enclave", layout.devRootCert()));
  }

  /**
   * {@link #serve(Path, Provisioned, Path, Path, InetSocketAddress, List, InetSocketAddress, ServerCredentials,
   * SiteIdentityResolver)} for the files of {@code layout}, with {@code childEnv} added to the environment of the key
   * broker and the enclave it starts: {@link DevelopmentWarning#warnedEnvironment()} when the caller has printed
   * {@link #developmentWarning} for this run (the two then log theirs at DEBUG), else empty (each prints its own).
   */
  public static InferenceDeployment serve(Layout layout, Provisioned p, Path artifact, Path auditLog,
                                          InetSocketAddress brokerAddress, List<Path> enclaveClasspath,
                                          InetSocketAddress listen, ServerCredentials credentials,
                                          SiteIdentityResolver identities, Map<String, String> childEnv)
      throws IOException {
    JavaProcess broker = null;
    InferenceEnclaveProcess enclave = null;
    EventLoopGroup relayLoop = null;
    ManagedChannel toEnclave = null;
    try {
      if (brokerAddress == null) {
        broker = org.cloister.consortium.SecureAggregationHost.startBroker(
            new org.cloister.consortium.SecureAggregationSetup.BrokerFiles(layout.keyBroker()), layout.brokerAudit(),
            layout.devRootCert(), childEnv, START_TIMEOUT);
        brokerAddress = new InetSocketAddress("127.0.0.1", broker.port());
      }
      enclave = InferenceEnclaveProcess.start(new InferenceEnclaveProcess.Launch(
          enclaveClasspath != null ? enclaveClasspath : p.classpath(), p.config(), p.policy(), brokerAddress,
          artifact, auditLog, layout.devRootCert(), layout.devRootKey(), "768m"), childEnv, START_TIMEOUT);
      // The relay's server and its channel to the enclave share one event-loop thread and run the
      // relay inline (direct executors): a query crosses the host without a thread hand-off.
      relayLoop = new NioEventLoopGroup(1);
      toEnclave = NettyChannelBuilder.forAddress("127.0.0.1", enclave.port()).usePlaintext()
          .eventLoopGroup(relayLoop).channelType(NioSocketChannel.class).directExecutor()
          .maxInboundMessageSize(64 * 1024 * 1024).build();
      Server host = NettyServerBuilder.forAddress(listen, credentials)
          .bossEventLoopGroup(relayLoop).workerEventLoopGroup(relayLoop).channelType(NioServerSocketChannel.class)
          .directExecutor() // the relay forwards asynchronously and never blocks
          .addService(ServerInterceptors.intercept(new InferenceRelayService(toEnclave),
              new IdentityInterceptor(identities)))
          .maxInboundMessageSize(64 * 1024 * 1024)
          .build().start();
      log.info("inference host on port {}: enclave pid {} (PCR0 {}) serving model version {}",
          host.getPort(), enclave.pid(), enclave.pcr0(), enclave.modelVersion());
      return new InferenceDeployment(broker, enclave, host, toEnclave, relayLoop);
    } catch (IOException | RuntimeException e) {
      if (toEnclave != null) {
        toEnclave.shutdownNow();
      }
      if (relayLoop != null) {
        relayLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      }
      if (enclave != null) {
        enclave.close();
      }
      if (broker != null) {
        broker.close();
      }
      throw e;
    }
  }

  /** The inference image to run, or null when none was built (development classpath). */
  public static Path locateImage() {
    String configured = System.getProperty("cloister.inference.image", System.getenv("CLOISTER_INFERENCE_IMAGE"));
    if (configured != null && !configured.isBlank()) {
      Path p = Path.of(configured);
      if (InferenceMeasurement.isImage(p)) {
        return p;
      }
      log.warn("inference image {} is not an image directory (no {}; build it with ./mvnw -pl inference-enclave -am "
          + "package)", p, InferenceMeasurement.IMAGE_JAR);
    }
    try {
      Path self = Path.of(InferenceDeployment.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (Files.isRegularFile(self) && self.getParent() != null && self.getParent().getParent() != null) {
        Path candidate = self.getParent().getParent().resolve("inference-enclave");
        if (InferenceMeasurement.isImage(candidate)) {
          return candidate;
        }
      }
    } catch (URISyntaxException | RuntimeException e) {
      // fall through to the development classpath
    }
    return null;
  }

  /** The class path of an image directory: its one jar, {@value InferenceMeasurement#IMAGE_JAR}. */
  public static List<Path> imageClasspath(Path image) throws IOException {
    if (!InferenceMeasurement.isImage(image)) {
      throw new IOException("inference image " + image + " holds no " + InferenceMeasurement.IMAGE_JAR);
    }
    return List.of(image.resolve(InferenceMeasurement.IMAGE_JAR));
  }

  /** The public endpoint's port. */
  public int port() {
    return host.getPort();
  }

  public InferenceEnclaveProcess enclave() {
    return enclave;
  }

  /** The key broker this deployment started, or null when it uses one already running. */
  public JavaProcess broker() {
    return broker;
  }

  /** Public facts for a client: expected PCRs as hex by index. */
  public static Map<Integer, String> hex(Map<Integer, byte[]> pcrs) {
    Map<Integer, String> out = new LinkedHashMap<>();
    new TreeMap<>(pcrs).forEach((k, v) -> out.put(k, HexFormat.of().formatHex(v)));
    return out;
  }

  @Override
  public void close() {
    host.shutdownNow();
    try {
      host.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    toEnclave.shutdownNow();
    relayLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    enclave.close();
    if (broker != null) {
      broker.close();
    }
  }

}

package org.cloister.cli.service;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.cli.config.ConfigDir;
import org.cloister.cli.config.CoordinatorFile;
import org.cloister.consortium.SecureAggregationHost;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.aggregation.PlaintextFedAvgAggregator;
import org.cloister.coordinator.enclave.AttestationRelayService;
import org.cloister.coordinator.enclave.EnclaveAggregator;
import org.cloister.coordinator.enclave.SealedModelStore;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.DevelopmentWarning;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.pki.Pem;

/**
 * How the coordinator service aggregates: through the secure aggregator enclave (started with the
 * key broker on this host from the kit's {@code aggregation:} section, or an enclave already
 * running there), after checking the enclave's attestation against the kit's expected PCRs; or,
 * with {@code -Dcloister.aggregation=plaintext}, the non-private development baseline.
 */
final class ServiceAggregation implements AutoCloseable {
  static final Duration START_TIMEOUT = Duration.ofSeconds(120);

  private final Aggregator aggregator;
  private final AttestationRelayService relay;
  private final SecureAggregationHost host;
  private final ManagedChannel connected;
  private final String description;

  private ServiceAggregation(Aggregator aggregator, AttestationRelayService relay, SecureAggregationHost host,
                             ManagedChannel connected, String description) {
    this.aggregator = aggregator;
    this.relay = relay;
    this.host = host;
    this.connected = connected;
    this.description = description;
  }

  /** True when {@code -Dcloister.aggregation=plaintext} asks for the non-private baseline. */
  static boolean plaintextRequested() {
    String mode = System.getProperty("cloister.aggregation", "enclave");
    if (!mode.equals("enclave") && !mode.equals("plaintext")) {
      throw new IllegalArgumentException("cloister.aggregation must be enclave or plaintext, got '" + mode + "'");
    }
    return mode.equals("plaintext");
  }

  /** The DEVELOPMENT baseline: plaintext updates averaged by the coordinator. */
  static ServiceAggregation plaintext(int dimension, String strategy, PrintWriter err) {
    org.cloister.aggregation.strategy.StrategySpec spec = SecureAggregationSetup.strategySpec(strategy);
    err.println("WARNING: -Dcloister.aggregation=plaintext: the coordinator aggregates PLAINTEXT updates and sees every "
        + "site's update. Development only: never with real patient data.");
    err.flush();
    return new ServiceAggregation(new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(dimension), spec), null, null,
        null, "plaintext " + spec + " in the coordinator (DEVELOPMENT baseline, not private)");
  }

  /**
   * Starts (or connects to) the enclave described by the {@code aggregation:} section and checks
   * that it matches the study and the consortium's expected PCRs.
   */
  static ServiceAggregation enclave(ConfigDir dir, CoordinatorFile.Aggregation a, StudyConfig study, String strategy,
                                    PrintWriter err) throws IOException {
    Path policyFile = dir.path(a.aggregationPolicy());
    AggregationPolicy policy = AggregationPolicy.parse(Files.readAllBytes(policyFile));
    checkStudy(dir, policyFile, policy, study, strategy);
    String platform = a.platform();
    switch (platform) {
      case "simulated" -> { }
      case "nitro", "sev-snp", "tdx" -> {
        return onHardware(dir, a, policy, platform, err);
      }
      default -> throw dir.error("'aggregation.platform' must be simulated, nitro, sev-snp or tdx, not '" + platform
          + "'");
    }
    Map<Integer, byte[]> expected = SecureAggregationSetup.readPcrs(dir.path(
        required(dir, a.expectedPcrs(), "aggregation.expected_pcrs")));
    Path root = dir.path(required(dir, a.attestationRoot(), "aggregation.attestation_root"));
    err.println(DevelopmentWarning.simulatedPlatform("the secure aggregator", root));
    err.flush();
    NitroAttestationVerifier verifier = new NitroAttestationVerifier(Pem.readCertificate(root));
    SealedModelStore store = new SealedModelStore(dir.path(a.sealedModels()));
    SecureAggregationSetup.EnclaveFiles files = new SecureAggregationSetup.EnclaveFiles(
        dir.path(required(dir, a.enclaveConfig(), "aggregation.enclave_config")),
        policyFile, SecureAggregationSetup.modelKeyId(policy.studyId()));

    SecureAggregationHost host = null;
    ManagedChannel channel;
    ManagedChannel connected = null;
    String where;
    if (a.enclave() != null) {
      InetSocketAddress addr = dir.address("aggregation.enclave", a.enclave());
      connected = NettyChannelBuilder.forAddress(addr.getHostString(), addr.getPort())
          .usePlaintext() // loopback stand-in for vsock; what is sensitive on it is end-to-end encrypted
          .maxInboundMessageSize(512 * 1024 * 1024).build();
      channel = connected;
      where = "the enclave already running at " + addr.getHostString() + ":" + addr.getPort();
    } else if (a.keyBrokerAddress() != null) {
      host = SecureAggregationHost.startWithRemoteBroker(List.of(enclaveImage(dir, a)), files,
          dir.address("aggregation.key_broker_address", a.keyBrokerAddress()), root, rootKey(dir, a), START_TIMEOUT);
      channel = host.enclaveChannel();
      where = host.describe();
    } else {
      Path brokerDir = dir.path(required(dir, a.keyBroker(), "aggregation.key_broker"));
      Path audit = a.keyBrokerAuditLog() != null ? dir.path(a.keyBrokerAuditLog()) : brokerDir.resolve("audit.jsonl");
      host = SecureAggregationHost.start(new SecureAggregationHost.Launch(
          new SecureAggregationSetup.BrokerFiles(brokerDir), audit, List.of(enclaveImage(dir, a)), files, root,
          rootKey(dir, a)), START_TIMEOUT);
      channel = host.enclaveChannel();
      where = host.describe();
    }
    try {
      VerifiedAttestation att = SecureAggregationHost.verify(channel, verifier, expected, policy.studyId(),
          Clock.systemUTC(), new SecureRandom());
      String description = "FedAvg" + (strategy.equals("fedavg") ? "" : " with server optimizer " + strategy)
          + " in the attested enclave (simulated platform, PCR0 " + att.pcrs().get(0)
          .substring(0, 16) + "...): " + where;
      return new ServiceAggregation(new EnclaveAggregator(channel, store, Duration.ofMinutes(10)),
          new AttestationRelayService(channel, store), host, connected, description);
    } catch (AttestationException e) {
      close(host, connected);
      throw new IllegalStateException("refusing to start: the secure aggregator enclave's attestation does not "
          + "match the consortium's expected PCRs in " + dir.path(a.expectedPcrs()) + " (" + e.reason() + "): "
          + e.getMessage(), e);
    } catch (RuntimeException e) {
      close(host, connected);
      throw e;
    }
  }

  /**
   * An enclave on real hardware runs in its own TEE (a Nitro enclave beside this host, reached through the vsock
   * forwarder; a confidential VM), started by its own unit (deploy/): the coordinator connects to
   * {@code aggregation.enclave} and verifies its evidence before serving: Nitro against {@code expected_pcrs}
   * under the AWS root (or {@code attestation_root}), SEV-SNP / TDX against {@code expected_measurements} under
   * the pinned AMD / Intel roots with {@code collateral_dir}. A refusal stops the service.
   */
  static ServiceAggregation onHardware(ConfigDir dir, CoordinatorFile.Aggregation a, AggregationPolicy policy,
                                       String platform, PrintWriter err) throws IOException {
    if (a.enclave() == null) {
      throw dir.error("'aggregation.platform' " + platform + ": the enclave runs in its own TEE "
          + "(docs/deployment.md), so 'aggregation.enclave' must give its address (HOST:PORT)");
    }
    InetSocketAddress addr = dir.address("aggregation.enclave", a.enclave());
    boolean nitro = platform.equals("nitro");
    if (nitro && a.expectedMeasurements() != null) {
      throw dir.error("a Nitro enclave is pinned with 'aggregation.expected_pcrs', not 'expected_measurements'");
    }
    if (!nitro && a.expectedPcrs() != null) {
      throw dir.error("an enclave on " + platform + " is pinned with 'aggregation.expected_measurements', not "
          + "'expected_pcrs'");
    }
    Path pinsFile = dir.path(required(dir, nitro ? a.expectedPcrs() : a.expectedMeasurements(),
        nitro ? "aggregation.expected_pcrs" : "aggregation.expected_measurements"));
    ManagedChannel channel = NettyChannelBuilder.forAddress(addr.getHostString(), addr.getPort())
        .usePlaintext() // what is sensitive on it is end-to-end encrypted to the attested enclave
        .maxInboundMessageSize(512 * 1024 * 1024).build();
    try {
      SealedModelStore store = new SealedModelStore(dir.path(a.sealedModels()));
      String measured;
      if (nitro) {
        NitroAttestationVerifier verifier = a.attestationRoot() != null && !a.attestationRoot().equals("aws")
            ? new NitroAttestationVerifier(Pem.readCertificate(dir.path(a.attestationRoot())))
            : NitroAttestationVerifier.withAwsRoot();
        VerifiedAttestation att = SecureAggregationHost.verify(channel, verifier,
            SecureAggregationSetup.readPcrs(pinsFile), policy.studyId(), Clock.systemUTC(), new SecureRandom());
        measured = "PCR0 " + att.pcrs().get(0).substring(0, 16) + "...";
      } else {
        org.cloister.trust.attestation.BoundEvidenceVerifier verifier =
            org.cloister.cli.attest.ConfidentialVmPins.verifier(pinsFile,
                a.collateralDir() == null ? null : dir.path(a.collateralDir()), null, err);
        if (!verifier.pins().platform().id().equals(platform)) {
          throw dir.error("'aggregation.platform' is " + platform + " but " + pinsFile + " pins "
              + verifier.pins().platform().id() + " measurements");
        }
        org.cloister.trust.attestation.BoundEvidenceVerifier.BoundEnclave b = SecureAggregationHost.verify(channel,
            verifier, policy.studyId(), Clock.systemUTC(), new SecureRandom());
        measured = "TCB " + b.evidence().tcb().map(t -> t.status()).orElse("n/a");
      }
      return new ServiceAggregation(new EnclaveAggregator(channel, store, Duration.ofMinutes(10)),
          new AttestationRelayService(channel, store), null, channel, "FedAvg in the attested enclave on " + platform
              + " (" + measured + ") at " + addr.getHostString() + ":" + addr.getPort());
    } catch (AttestationException e) {
      close(null, channel);
      throw new IllegalStateException("refusing to start: the secure aggregator enclave at " + addr + " is not the "
          + "one the consortium pinned in " + pinsFile + " (" + e.reason() + "): " + e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      close(null, channel);
      throw e;
    }
  }

  /** The coordinator's study must be the one the consortium fixed in the enclave's policy. */
  private static void checkStudy(ConfigDir a, Path policyFile, AggregationPolicy p, StudyConfig study, String strategy) {
    String fixed = " does not match the aggregation policy the consortium fixed at provisioning ("
        + policyFile + ", measured into PCR2): ";
    if (!p.studyId().equals(study.studyId())) {
      throw a.error("study.id " + study.studyId() + fixed + "study " + p.studyId());
    }
    if (!p.modelName().equals(study.modelName()) || p.dimension() != study.modelDimension()) {
      throw a.error("study model " + study.modelName() + " with " + study.modelDimension() + " parameters" + fixed
          + p.modelName() + " with " + p.dimension());
    }
    if (!p.strategy().equals(SecureAggregationSetup.strategySpec(strategy))) {
      throw a.error("study.strategy " + strategy + " (" + SecureAggregationSetup.strategySpec(strategy) + ")" + fixed
          + "strategy " + p.strategy());
    }
    if (study.minSitesPerRound() < p.minUpdates()) {
      throw a.error("study.min_sites " + study.minSitesPerRound() + fixed + "no model from fewer than "
          + p.minUpdates() + " updates");
    }
    if (study.minSitesPerRound() < p.publishFloor()) {
      // a round with fewer sites would have them train and spend privacy budget for a model the enclave never publishes
      throw a.error("study.min_sites " + study.minSitesPerRound() + " is below the " + p.publishFloor() + " distinct "
          + "sites the aggregation policy needs to publish a model (" + policyFile + ": cohort_floor " + p.cohortFloor()
          + "): a round with fewer would spend the sites' privacy budget and publish nothing; set study.min_sites: "
          + p.publishFloor());
    }
  }

  private static String required(ConfigDir dir, String value, String key) {
    if (value == null) {
      throw dir.error("'" + key + "' is missing (required to start the enclave on this host)");
    }
    return value;
  }

  private static Path enclaveImage(ConfigDir dir, CoordinatorFile.Aggregation a) {
    return dir.path(required(dir, a.enclaveImage(), "aggregation.enclave_image"));
  }

  private static Path rootKey(ConfigDir dir, CoordinatorFile.Aggregation a) {
    return dir.path(required(dir, a.attestationRootKey(), "aggregation.attestation_root_key"));
  }

  Aggregator aggregator() {
    return aggregator;
  }

  /** Adds the attestation relay (and sealed model copies) to the coordinator's server. */
  void registerServices(NettyServerBuilder server) {
    if (relay != null) {
      server.addService(relay);
    }
  }

  /** What sites receive with their tasks: the enclave's round challenge, the sealed model copy (nothing without an enclave). */
  org.cloister.coordinator.service.TaskAttachments taskAttachments() {
    return relay != null ? relay : org.cloister.coordinator.service.TaskAttachments.NONE;
  }

  String describe() {
    return description;
  }

  /** A process this coordinator started (enclave or key broker) that has exited since, or empty. */
  java.util.Optional<String> exitedProcess() {
    return host == null ? java.util.Optional.empty() : host.exited();
  }

  @Override
  public void close() {
    close(host, connected);
  }

  private static void close(SecureAggregationHost host, ManagedChannel connected) {
    if (connected != null) {
      connected.shutdownNow();
      try {
        connected.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (host != null) {
      host.close();
    }
  }
}

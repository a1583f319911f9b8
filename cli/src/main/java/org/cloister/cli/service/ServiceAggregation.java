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
import org.cloister.cli.config.ConfigMap;
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
  static final Set<String> KEYS = Set.of("enclave_image", "enclave_config", "aggregation_policy", "expected_pcrs",
      "platform", "attestation_root", "attestation_root_key", "key_broker", "key_broker_audit_log",
      "key_broker_address", "sealed_models", "enclave", "expected_measurements", "collateral_dir");
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
  static ServiceAggregation enclave(ConfigMap a, StudyConfig study, String strategy, PrintWriter err) throws IOException {
    Path policyFile = a.path("aggregation_policy");
    AggregationPolicy policy = AggregationPolicy.parse(Files.readAllBytes(policyFile));
    checkStudy(a, policy, study, strategy);
    String platform = a.string("platform", "simulated");
    switch (platform) {
      case "simulated" -> { }
      case "nitro", "sev-snp", "tdx" -> {
        return onHardware(a, policy, platform, err);
      }
      default -> throw a.error("'aggregation.platform' must be simulated, nitro, sev-snp or tdx, not '" + platform + "'");
    }
    Map<Integer, byte[]> expected = SecureAggregationSetup.readPcrs(a.path("expected_pcrs"));
    Path root = a.path("attestation_root");
    err.println("WARNING: the secure aggregator runs on a SIMULATED attestation platform (development root " + root
        + "): it demonstrates the protocol, not isolation. Never use it with real patient data.");
    err.flush();
    NitroAttestationVerifier verifier = new NitroAttestationVerifier(Pem.readCertificate(root));
    SealedModelStore store = new SealedModelStore(a.path("sealed_models"));
    SecureAggregationSetup.EnclaveFiles files = new SecureAggregationSetup.EnclaveFiles(a.path("enclave_config"),
        policyFile, SecureAggregationSetup.modelKeyId(policy.studyId()));

    SecureAggregationHost host = null;
    ManagedChannel channel;
    ManagedChannel connected = null;
    String where;
    if (a.has("enclave")) {
      InetSocketAddress addr = a.address("enclave", null);
      connected = NettyChannelBuilder.forAddress(addr.getHostString(), addr.getPort())
          .usePlaintext() // loopback stand-in for vsock; what is sensitive on it is end-to-end encrypted
          .maxInboundMessageSize(512 * 1024 * 1024).build();
      channel = connected;
      where = "the enclave already running at " + addr.getHostString() + ":" + addr.getPort();
    } else if (a.has("key_broker_address")) {
      host = SecureAggregationHost.startWithRemoteBroker(List.of(a.path("enclave_image")), files,
          a.address("key_broker_address", null), root, a.path("attestation_root_key"), START_TIMEOUT);
      channel = host.enclaveChannel();
      where = host.describe();
    } else {
      Path brokerDir = a.path("key_broker");
      Path audit = a.has("key_broker_audit_log") ? a.path("key_broker_audit_log") : brokerDir.resolve("audit.jsonl");
      host = SecureAggregationHost.start(new SecureAggregationHost.Launch(
          new SecureAggregationSetup.BrokerFiles(brokerDir), audit, List.of(a.path("enclave_image")), files, root,
          a.path("attestation_root_key")), START_TIMEOUT);
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
          + "match the consortium's expected PCRs in " + a.path("expected_pcrs") + " (" + e.reason() + "): "
          + e.getMessage(), e);
    } catch (RuntimeException e) {
      close(host, connected);
      throw e;
    }
  }

  /**
   * An enclave on real hardware runs in its own TEE (a Nitro enclave beside this host, reached through the vsock
   * proxy; a confidential VM), started by its own unit (deploy/): the coordinator connects to {@code enclave} and
   * verifies its evidence before serving: Nitro against {@code expected_pcrs} under the AWS root (or
   * {@code attestation_root}), SEV-SNP / TDX against {@code expected_measurements} under the pinned AMD / Intel
   * roots with {@code collateral_dir}. A refusal stops the service.
   */
  static ServiceAggregation onHardware(ConfigMap a, AggregationPolicy policy, String platform,
                                               PrintWriter err) throws IOException {
    if (!a.has("enclave")) {
      throw a.error("'aggregation.platform' " + platform + ": the enclave runs in its own TEE (docs/deployment.md), "
          + "so 'aggregation.enclave' must give its address (HOST:PORT)");
    }
    InetSocketAddress addr = a.address("enclave", null);
    ManagedChannel channel = NettyChannelBuilder.forAddress(addr.getHostString(), addr.getPort())
        .usePlaintext() // what is sensitive on it is end-to-end encrypted to the attested enclave
        .maxInboundMessageSize(512 * 1024 * 1024).build();
    SealedModelStore store = new SealedModelStore(a.path("sealed_models"));
    try {
      String measured;
      if (platform.equals("nitro")) {
        if (a.has("expected_measurements")) {
          throw a.error("a Nitro enclave is pinned with 'expected_pcrs', not 'expected_measurements'");
        }
        NitroAttestationVerifier verifier = a.has("attestation_root") && !a.string("attestation_root").equals("aws")
            ? new NitroAttestationVerifier(Pem.readCertificate(a.path("attestation_root")))
            : NitroAttestationVerifier.withAwsRoot();
        VerifiedAttestation att = SecureAggregationHost.verify(channel, verifier,
            SecureAggregationSetup.readPcrs(a.path("expected_pcrs")), policy.studyId(), Clock.systemUTC(),
            new SecureRandom());
        measured = "PCR0 " + att.pcrs().get(0).substring(0, 16) + "...";
      } else {
        if (a.has("expected_pcrs")) {
          throw a.error("an enclave on " + platform + " is pinned with 'expected_measurements', not 'expected_pcrs'");
        }
        org.cloister.trust.attestation.BoundEvidenceVerifier verifier =
            org.cloister.cli.attest.ConfidentialVmPins.verifier(a.path("expected_measurements"),
                a.has("collateral_dir") ? a.path("collateral_dir") : null, null, err);
        if (!verifier.pins().platform().id().equals(platform)) {
          throw a.error("'aggregation.platform' is " + platform + " but " + a.path("expected_measurements")
              + " pins " + verifier.pins().platform().id() + " measurements");
        }
        org.cloister.trust.attestation.BoundEvidenceVerifier.BoundEnclave b = SecureAggregationHost.verify(channel,
            verifier, policy.studyId(), Clock.systemUTC(), new SecureRandom());
        measured = platform + " TCB " + b.evidence().tcb().map(t -> t.status()).orElse("n/a");
      }
      return new ServiceAggregation(new EnclaveAggregator(channel, store, Duration.ofMinutes(10)),
          new AttestationRelayService(channel, store), null, channel, "FedAvg in the attested enclave on " + platform
              + " (" + measured + ") at " + addr.getHostString() + ":" + addr.getPort());
    } catch (AttestationException e) {
      close(null, channel);
      throw new IllegalStateException("refusing to start: the secure aggregator enclave at " + addr + " is not the "
          + "one the consortium pinned (" + e.reason() + "): " + e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      close(null, channel);
      throw e;
    }
  }

  /** The coordinator's study must be the one the consortium fixed in the enclave's policy. */
  private static void checkStudy(ConfigMap a, AggregationPolicy p, StudyConfig study, String strategy) {
    String fixed = " does not match the aggregation policy the consortium fixed at provisioning ("
        + a.path("aggregation_policy") + ", measured into PCR2): ";
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

  String describe() {
    return description;
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

package org.cloister.consortium;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.cloister.broker.KeyBrokerMain;
import org.cloister.coordinator.enclave.EnclaveProcess;
import org.cloister.coordinator.enclave.JavaProcess;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.protocol.v1.AttestationRequest;
import org.cloister.protocol.v1.SecureAggregatorGrpc;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.AttestationVerifier;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.attestation.DevelopmentWarning;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What runs next to the coordinator on its host: the key broker process (like a cloud KMS) and the
 * secure aggregator enclave process, started from the consortium's files. The coordinator only
 * gets the local channel to the enclave; it never loads the enclave's code.
 */
public final class SecureAggregationHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SecureAggregationHost.class);

  /**
   * What to start.
   *
   * @param broker           the key broker's directory
   * @param auditLog         where the broker appends its audit log
   * @param enclaveClasspath the enclave image jar (or a development classpath)
   * @param enclave          the enclave configuration and policy
   * @param devRootCert      the simulated platform's development attestation root
   * @param devRootKey       its private key (given to the simulated platform only)
   * @param platform         {@code simulated} (Nitro format), {@code simulated-sev-snp} or {@code simulated-tdx}: the
   *                         SEV-SNP / TDX test double, whose root the broker trusts from
   *                         {@code BROKER/}{@value #DEVELOPMENT_AMD_ROOT} / {@value #DEVELOPMENT_INTEL_ROOT} with
   *                         the collateral in {@code BROKER/collateral}
   */
  public record Launch(SecureAggregationSetup.BrokerFiles broker, Path auditLog, List<Path> enclaveClasspath,
                       SecureAggregationSetup.EnclaveFiles enclave, Path devRootCert, Path devRootKey, String platform) {
    public Launch(SecureAggregationSetup.BrokerFiles broker, Path auditLog, List<Path> enclaveClasspath,
                  SecureAggregationSetup.EnclaveFiles enclave, Path devRootCert, Path devRootKey) {
      this(broker, auditLog, enclaveClasspath, enclave, devRootCert, devRootKey, "simulated");
    }

    public Launch {
      enclaveClasspath = List.copyOf(enclaveClasspath);
    }
  }

  /** The SEV-SNP test double's root in a broker directory (development, {@code simulated-sev-snp}). */
  public static final String DEVELOPMENT_AMD_ROOT = "development-amd-root.pem";
  /** The TDX test double's root in a broker directory (development, {@code simulated-tdx}). */
  public static final String DEVELOPMENT_INTEL_ROOT = "development-intel-root.pem";

  private final JavaProcess broker;
  private final EnclaveProcess enclave;

  private SecureAggregationHost(JavaProcess broker, EnclaveProcess enclave) {
    this.broker = broker;
    this.enclave = enclave;
  }

  /**
   * Starts the key broker, then the enclave (which fetches its model key from the broker: a broker
   * whose policy pins other PCRs refuses it, and the start fails with the broker's reason).
   * The caller has printed the development-platform warning for this run (a simulation when it created the
   * development root, the coordinator's banner): the two processes log theirs at DEBUG ({@link DevelopmentWarning}).
   */
  public static SecureAggregationHost start(Launch l, Duration timeout) throws IOException {
    JavaProcess broker = startBroker(l, timeout);
    try {
      return new SecureAggregationHost(broker, startEnclave(l.enclaveClasspath(), l.enclave(),
          new InetSocketAddress("127.0.0.1", broker.port()), l.devRootCert(), l.devRootKey(), l.platform(), timeout));
    } catch (IOException | RuntimeException e) {
      broker.close();
      throw e;
    }
  }

  /**
   * Starts only the enclave, against a key broker that runs elsewhere (e.g. on a machine the
   * consortium, not the host's operator, controls). The caller has warned, as for {@link #start}.
   */
  public static SecureAggregationHost startWithRemoteBroker(List<Path> enclaveClasspath,
      SecureAggregationSetup.EnclaveFiles enclave, InetSocketAddress broker, Path devRootCert, Path devRootKey,
      Duration timeout) throws IOException {
    return new SecureAggregationHost(null, startEnclave(enclaveClasspath, enclave, broker, devRootCert, devRootKey,
        "simulated", timeout));
  }

  private static EnclaveProcess startEnclave(List<Path> classpath, SecureAggregationSetup.EnclaveFiles files,
      InetSocketAddress broker, Path devRootCert, Path devRootKey, String platform, Duration timeout)
      throws IOException {
    int dimension = AggregationPolicy.parse(Files.readAllBytes(files.policy())).dimension();
    // four decrypted updates, the running sum and its spare, the last published model, one update in
    // transit, and a young generation (half the heap, EnclaveProcess) that holds about two rounds'
    // short-lived copies, so a round rarely collects and never needs a full collection (docs/benchmarks.md)
    String heap = Math.max(256, (32L * dimension * Float.BYTES) / (1 << 20) + 256) + "m";
    EnclaveProcess enclave = EnclaveProcess.start(new EnclaveProcess.Launch(classpath, files.config(), files.policy(),
        broker, devRootCert, devRootKey, heap, platform), DevelopmentWarning.warnedEnvironment(), timeout);
    log.info("secure aggregation: enclave pid {} (PCR0 {}), key broker at {}", enclave.pid(), enclave.pcr0(), broker);
    return enclave;
  }

  private static JavaProcess startBroker(Launch l, Duration timeout) throws IOException {
    List<String> more = switch (l.platform()) {
      case "simulated-sev-snp" -> List.of("--development-amd-root",
          l.broker().directory().resolve(DEVELOPMENT_AMD_ROOT).toString(),
          "--collateral", l.broker().directory().resolve("collateral").toString());
      case "simulated-tdx" -> List.of("--development-intel-root",
          l.broker().directory().resolve(DEVELOPMENT_INTEL_ROOT).toString(),
          "--collateral", l.broker().directory().resolve("collateral").toString());
      default -> List.of();
    };
    return startBroker(l.broker(), l.auditLog(), l.devRootCert(), more, DevelopmentWarning.warnedEnvironment(), timeout);
  }

  /**
   * Starts a key broker process on loopback from its directory (e.g. for the inference tier after
   * a study), trusting the development attestation root {@code devRootCert}. It prints its own development warning.
   */
  public static JavaProcess startBroker(SecureAggregationSetup.BrokerFiles d, Path auditLog, Path devRootCert,
                                        Duration timeout) throws IOException {
    return startBroker(d, auditLog, devRootCert, Map.of(), timeout);
  }

  /**
   * Same, with {@code env} added to the broker's environment ({@link DevelopmentWarning#warnedEnvironment()} when the
   * caller has printed the development-platform warning for this run: the broker then logs its own at DEBUG).
   */
  public static JavaProcess startBroker(SecureAggregationSetup.BrokerFiles d, Path auditLog, Path devRootCert,
                                        Map<String, String> env, Duration timeout) throws IOException {
    return startBroker(d, auditLog, devRootCert, List.of(), env, timeout);
  }

  private static JavaProcess startBroker(SecureAggregationSetup.BrokerFiles d, Path auditLog, Path devRootCert,
                                         List<String> moreArgs, Map<String, String> env, Duration timeout)
      throws IOException {
    List<String> args = new java.util.ArrayList<>(List.of("--keystore", d.keystore().toString(),
        "--keystore-password-file", d.keystorePassword().toString(),
        "--policies", d.policies().toString(), "--tls-cert", d.tlsCertificate().toString(),
        "--tls-key", d.tlsKey().toString(), "--audit-log", auditLog.toString(),
        "--admin-token-file", d.adminToken().toString(), "--attestation-root", devRootCert.toString(),
        "--listen", "127.0.0.1:0", "--exit-with-parent"));
    args.addAll(moreArgs);
    Files.createDirectories(auditLog.toAbsolutePath().getParent());
    return JavaProcess.start("key-broker", List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=info"), SecureAggregationSetup.currentClasspath(),
        KeyBrokerMain.class.getName(), args, env,
        KeyBrokerMain.READY, KeyBrokerMain.FAILED, timeout);
  }

  /**
   * Asks the enclave for a fresh attestation document with a random nonce and verifies it against
   * the PCRs the consortium expects: what the host checks before serving (and each site checks
   * before every update).
   *
   * @throws AttestationException naming the mismatch (e.g. {@code PCR_MISMATCH})
   */
  public static VerifiedAttestation verify(Channel enclave, AttestationVerifier verifier, Map<Integer, byte[]> expected,
                                           String studyId, Clock clock, SecureRandom random) throws AttestationException {
    byte[] nonce = new byte[32];
    random.nextBytes(nonce);
    byte[] doc;
    try {
      org.cloister.protocol.v1.AttestationResponse response = SecureAggregatorGrpc.newBlockingStub(enclave)
          .withDeadlineAfter(30, TimeUnit.SECONDS)
          .getAttestation(AttestationRequest.newBuilder().setStudyId(studyId).setNonce(ByteString.copyFrom(nonce))
              .build());
      doc = org.cloister.protocol.EvidenceWire.nitroDocument(response.hasEvidence() ? response.getEvidence() : null,
          !response.getLegacyDocument().isEmpty(), "the secure aggregator enclave");
    } catch (IllegalArgumentException e) {
      throw new AttestationException(org.cloister.trust.attestation.FailureReason.MALFORMED, e.getMessage(), e);
    } catch (StatusRuntimeException e) {
      throw new IllegalStateException("the secure aggregator enclave did not answer an attestation request: "
          + e.getStatus().getCode() + ": " + e.getStatus().getDescription(), e);
    }
    VerificationPolicy policy = VerificationPolicy.at(clock.instant()).withExpectedNonce(nonce);
    for (Map.Entry<Integer, byte[]> e : expected.entrySet()) {
      policy = policy.withExpectedPcr(e.getKey(), e.getValue());
    }
    return verifier.verify(doc, policy);
  }

  /**
   * Asks the enclave for fresh evidence with a random nonce and verifies it with the consortium's pins on any
   * platform ({@code BoundEvidenceVerifier}: SEV-SNP or TDX against the pinned vendor roots and the collateral
   * folder): what the host checks before serving an enclave on a confidential VM. The evidence must bind the
   * nonce, the enclave's HPKE key and its signing key (user data) sent beside it.
   *
   * @throws AttestationException naming the mismatch (another platform, measurement, TCB, nonce)
   */
  public static org.cloister.trust.attestation.BoundEvidenceVerifier.BoundEnclave verify(Channel enclave,
      org.cloister.trust.attestation.BoundEvidenceVerifier verifier, String studyId, Clock clock, SecureRandom random)
      throws AttestationException {
    byte[] nonce = new byte[32];
    random.nextBytes(nonce);
    org.cloister.protocol.EvidenceWire.Received received;
    try {
      org.cloister.protocol.v1.AttestationResponse response = SecureAggregatorGrpc.newBlockingStub(enclave)
          .withDeadlineAfter(30, TimeUnit.SECONDS)
          .getAttestation(AttestationRequest.newBuilder().setStudyId(studyId).setNonce(ByteString.copyFrom(nonce))
              .build());
      received = org.cloister.protocol.EvidenceWire.received(response.hasEvidence() ? response.getEvidence() : null,
          !response.getLegacyDocument().isEmpty(), "the secure aggregator enclave");
    } catch (IllegalArgumentException e) {
      throw new AttestationException(org.cloister.trust.attestation.FailureReason.MALFORMED, e.getMessage(), e);
    } catch (StatusRuntimeException e) {
      throw new IllegalStateException("the secure aggregator enclave did not answer an attestation request: "
          + e.getStatus().getCode() + ": " + e.getStatus().getDescription(), e);
    }
    org.cloister.trust.attestation.BoundEvidenceVerifier.BoundEnclave bound = verifier.verify(received.platform(),
        received.evidence(), received.collateral(), received.hpkePublicKey(), received.userData(), nonce,
        clock.instant());
    bound.signingKey(); // the receipts' signing key must be bound too
    return bound;
  }

  /** The local channel to the enclave. */
  public ManagedChannel enclaveChannel() {
    return enclave.channel();
  }

  public EnclaveProcess enclave() {
    return enclave;
  }

  /** The key broker process, or null when it runs elsewhere. */
  public JavaProcess broker() {
    return broker;
  }

  /**
   * The process of this host that has exited (the enclave first, then the key broker), named with its
   * pid, or empty while both run. Without its enclave the coordinator aggregates nothing, and an
   * enclave started again needs the broker: {@code coordinator start} stops when one is gone.
   */
  public java.util.Optional<String> exited() {
    if (!enclave.isAlive()) {
      return java.util.Optional.of("the enclave process (pid " + enclave.pid() + ")");
    }
    if (broker != null && !broker.isAlive()) {
      return java.util.Optional.of("the key broker process (pid " + broker.pid() + ")");
    }
    return java.util.Optional.empty();
  }

  /** One line naming the processes (no secrets). */
  public String describe() {
    return (broker == null ? "key broker elsewhere" : "key broker pid " + broker.pid() + " on 127.0.0.1:" + broker.port())
        + ", enclave pid " + enclave.pid() + " (PCR0 " + enclave.pcr0() + ")";
  }

  @Override
  public void close() {
    enclave.close();
    if (broker != null) {
      broker.close();
    }
  }
}

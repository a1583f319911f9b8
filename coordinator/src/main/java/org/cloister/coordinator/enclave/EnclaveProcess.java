package org.cloister.coordinator.enclave;

import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The host's handle on the secure aggregator enclave: starts it as a separate process from its
 * image, the way a parent instance starts a Nitro enclave, and opens the local channel to it
 * (gRPC on loopback here; vsock through a proxy in production). The coordinator never loads the
 * enclave's code: it only knows the image, the configuration and the policy files to hand over.
 */
public final class EnclaveProcess extends LocalEnclaveProcess {
  /** Main class inside the enclave image. */
  public static final String MAIN_CLASS = "org.cloister.enclave.EnclaveMain";
  public static final String READY = "CLOISTER-ENCLAVE READY ";
  public static final String FAILED = "CLOISTER-ENCLAVE FAILED ";
  /** HTTP/2 flow-control window of the local channel (bytes in flight before the receiver acknowledges). */
  static final int FLOW_CONTROL_WINDOW = 16 << 20;
  /**
   * The enclave JVM's options besides its heap. The {@code CompileThresholdScaling} commands: the
   * enclave runs the same code every round, but its gRPC/Netty transport (called per HTTP/2 frame and
   * buffer), P-256 verification and X25519 run only a few thousand times per round, so with the
   * default tiered thresholds method after method of theirs crosses the C2 threshold round after
   * round (about half the enclave's CPU per round, still after 20 rounds; first-time compilations,
   * not a deoptimisation loop: docs/benchmarks.md). Five times the thresholds for those packages only
   * leaves that lukewarm code at C1 longer and halves the enclave's JIT CPU per round; the summation
   * kernel, the Vector API, AES-GCM and SHA-256 keep the default thresholds and reach C2 in the first
   * round.
   */
  static final List<String> BASE_JVM_OPTIONS = List.of("-XX:+UseSerialGC", "-XX:NewRatio=1",
      "-XX:CompileCommand=quiet",
      "-XX:CompileCommand=CompileThresholdScaling,io.grpc.*::*,5.0", // gRPC and its shaded Netty
      "-XX:CompileCommand=CompileThresholdScaling,sun.security.ec.*::*,5.0",
      "-XX:CompileCommand=CompileThresholdScaling,sun.security.util.math.*::*,5.0",
      "-XX:CompileCommand=CompileThresholdScaling,org.bouncycastle.*::*,5.0",
      "--add-modules", "jdk.incubator.vector",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=info", "-Dorg.slf4j.simpleLogger.showDateTime=false");

  /**
   * What to start.
   *
   * @param classpath   the enclave image (one jar), or a development classpath
   * @param config      configuration file (measured into PCR1)
   * @param policy      aggregation policy file (measured into PCR2)
   * @param broker      the key broker's address (reached through the host)
   * @param devRootCert development attestation root certificate (simulated platform)
   * @param devRootKey  its private key, handed to the simulated platform only
   * @param maxHeap     the enclave's memory, e.g. {@code 512m}
   * @param platform    {@code simulated} (Nitro format), {@code simulated-sev-snp} or {@code simulated-tdx} (test doubles)
   */
  public record Launch(List<Path> classpath, Path config, Path policy, InetSocketAddress broker, Path devRootCert,
                       Path devRootKey, String maxHeap, String platform) {
    public Launch(List<Path> classpath, Path config, Path policy, InetSocketAddress broker, Path devRootCert,
                  Path devRootKey, String maxHeap) {
      this(classpath, config, policy, broker, devRootCert, devRootKey, maxHeap, "simulated");
    }

    public Launch {
      classpath = List.copyOf(classpath);
      Objects.requireNonNull(config, "config");
      Objects.requireNonNull(policy, "policy");
      Objects.requireNonNull(broker, "broker");
    }
  }

  private EnclaveProcess(JavaProcess process) {
    super(process, NettyChannelBuilder.forAddress("127.0.0.1", process.port())
        .usePlaintext() // loopback stand-in for vsock; everything sensitive on it is end-to-end encrypted
        .maxInboundMessageSize(512 * 1024 * 1024)
        .flowControlWindow(FLOW_CONTROL_WINDOW) // the published model comes back in one window, not 1 MB at a time
        .build());
  }

  /**
   * Starts the enclave and waits until it serves.
   *
   * @throws JavaProcess.StartException with the enclave's reason, e.g. the key broker refusing it
   */
  public static EnclaveProcess start(Launch l, Duration timeout) throws IOException {
    return start(l, java.util.Map.of(), timeout);
  }

  /** Same, with {@code env} added to the enclave's environment (e.g. the parent has warned: {@code DevelopmentWarning}). */
  public static EnclaveProcess start(Launch l, java.util.Map<String, String> env, Duration timeout) throws IOException {
    List<String> args = new ArrayList<>(List.of("--config", l.config().toString(), "--policy", l.policy().toString(),
        "--broker", l.broker().getHostString() + ":" + l.broker().getPort(), "--listen", "127.0.0.1:0",
        "--exit-with-parent"));
    args.addAll(platformArgs(l.platform(), l.devRootCert(), l.devRootKey()));
    List<String> jvm = jvmOptions(l.maxHeap(), BASE_JVM_OPTIONS);
    return new EnclaveProcess(JavaProcess.start("enclave", jvm, l.classpath(), MAIN_CLASS, args, env, READY, FAILED,
        timeout));
  }
}

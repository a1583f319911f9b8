package org.cloister.coordinator.inference;

import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.cloister.coordinator.enclave.JavaProcess;
import org.cloister.coordinator.enclave.LocalEnclaveProcess;
import org.cloister.protocol.v1.DropModelRequest;
import org.cloister.protocol.v1.InferenceAdminGrpc;

/**
 * The host's handle on an inference enclave: starts it as a separate process from its image (as a
 * parent instance starts a Nitro enclave) and opens the local channel to it. The host never loads
 * the enclave's code; it hands over files it cannot read (the encrypted artifact) or that are
 * public (configuration, policy).
 */
public final class InferenceEnclaveProcess extends LocalEnclaveProcess {
  public static final String MAIN_CLASS = "org.cloister.inference.enclave.InferenceMain";
  public static final String READY = "CLOISTER-INFERENCE READY ";
  public static final String FAILED = "CLOISTER-INFERENCE FAILED ";

  /**
   * What to start.
   *
   * @param classpath   the image's jars (or a development classpath)
   * @param config      configuration (PCR1)
   * @param policy      inference policy (PCR2)
   * @param broker      the key broker
   * @param artifact    the encrypted global-weights artifact to serve
   * @param auditLog    where the enclave appends its audit records (no payloads)
   * @param devRootCert development attestation root (simulated platform), or null
   * @param devRootKey  its key, or null
   * @param maxHeap     e.g. {@code 512m}
   */
  public record Launch(List<Path> classpath, Path config, Path policy, InetSocketAddress broker, Path artifact,
                       Path auditLog, Path devRootCert, Path devRootKey, String maxHeap) {
    public Launch {
      classpath = List.copyOf(classpath);
      Objects.requireNonNull(config, "config");
      Objects.requireNonNull(policy, "policy");
      Objects.requireNonNull(broker, "broker");
      Objects.requireNonNull(artifact, "artifact");
      Objects.requireNonNull(auditLog, "auditLog");
    }
  }

  private InferenceEnclaveProcess(JavaProcess process) {
    super(process, NettyChannelBuilder.forAddress("127.0.0.1", process.port())
        .usePlaintext() // loopback stand-in for vsock; queries and answers on it are end-to-end encrypted
        .directExecutor() // the relay only forwards answers: no executor hand-off
        .maxInboundMessageSize(64 * 1024 * 1024)
        .build());
  }

  /**
   * Starts the enclave and waits until it serves.
   *
   * @throws JavaProcess.StartException with the enclave's reason (e.g. the key broker refusing it)
   */
  public static InferenceEnclaveProcess start(Launch l, Duration timeout) throws IOException {
    return start(l, Map.of(), timeout);
  }

  /**
   * Same, with {@code env} added to the enclave's environment (e.g. the parent has printed the development-platform
   * warning for this run: {@code DevelopmentWarning.warnedEnvironment()}).
   */
  public static InferenceEnclaveProcess start(Launch l, Map<String, String> env, Duration timeout) throws IOException {
    List<String> args = new ArrayList<>(List.of("--config", l.config().toString(), "--policy", l.policy().toString(),
        "--broker", l.broker().getHostString() + ":" + l.broker().getPort(), "--artifact", l.artifact().toString(),
        "--audit-log", l.auditLog().toString(), "--listen", "127.0.0.1:0", "--exit-with-parent"));
    args.addAll(platformArgs(l.devRootCert(), l.devRootKey()));
    List<String> jvm = jvmOptions(l.maxHeap(), List.of(
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=info", "-Dorg.slf4j.simpleLogger.showDateTime=false"));
    return new InferenceEnclaveProcess(JavaProcess.start("inference-enclave", jvm, l.classpath(), MAIN_CLASS, args, env,
        READY, FAILED, timeout));
  }

  public long modelVersion() {
    return Long.parseLong(readyField("model_version"));
  }

  /** Tells the enclave to erase the model from its memory (after the key was revoked); true if it held one. */
  public boolean dropModel(String reason) {
    return InferenceAdminGrpc.newBlockingStub(channel()).withDeadlineAfter(30, TimeUnit.SECONDS)
        .dropModel(DropModelRequest.newBuilder().setReason(reason).build()).getDropped();
  }
}

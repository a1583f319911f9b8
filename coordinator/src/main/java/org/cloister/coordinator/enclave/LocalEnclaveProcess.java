package org.cloister.coordinator.enclave;

import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the host holds of an enclave it started (the secure aggregator or an inference enclave):
 * the process, started from the enclave's image as a parent instance starts a Nitro enclave, and
 * the local channel to it (gRPC on loopback here; vsock through a proxy in production).
 */
public abstract class LocalEnclaveProcess implements AutoCloseable {
  private final JavaProcess process;
  private final ManagedChannel channel;

  protected LocalEnclaveProcess(JavaProcess process, ManagedChannel channel) {
    this.process = process;
    this.channel = channel;
  }

  /**
   * The enclave JVM's options: its heap ({@code 512m} when null), then {@code base}, then any extra
   * options from {@code CLOISTER_ENCLAVE_JAVA_OPTS} (e.g. a profiler; they do not change what is
   * measured into the PCRs, which cover the image, configuration and policy).
   */
  protected static List<String> jvmOptions(String maxHeap, List<String> base) {
    List<String> jvm = new ArrayList<>();
    jvm.add("-Xmx" + (maxHeap == null ? "512m" : maxHeap));
    jvm.addAll(base);
    String extra = System.getenv("CLOISTER_ENCLAVE_JAVA_OPTS");
    if (extra != null && !extra.isBlank()) {
      jvm.addAll(List.of(extra.trim().split("\\s+")));
    }
    return jvm;
  }

  /** The arguments that select the simulated attestation platform, or none when {@code devRootCert} is null. */
  protected static List<String> platformArgs(Path devRootCert, Path devRootKey) {
    return platformArgs("simulated", devRootCert, devRootKey);
  }

  /** {@code platform}: {@code simulated}, {@code simulated-sev-snp} or {@code simulated-tdx} (keys derived from the root key file). */
  protected static List<String> platformArgs(String platform, Path devRootCert, Path devRootKey) {
    return devRootCert == null ? List.of()
        : List.of("--platform", platform, "--dev-root-cert", devRootCert.toString(),
            "--dev-root-key", devRootKey.toString());
  }

  /** The local channel to the enclave. */
  public ManagedChannel channel() {
    return channel;
  }

  /** PCR0 the enclave reported when it started (hex). */
  public String pcr0() {
    return process.readyField("pcr0");
  }

  /** The enclave's local port (loopback). */
  public int port() {
    return process.port();
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** A field of the enclave's ready line. */
  protected String readyField(String name) {
    return process.readyField(name);
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process.close();
  }
}

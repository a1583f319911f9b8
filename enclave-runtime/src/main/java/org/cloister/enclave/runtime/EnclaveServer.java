package org.cloister.enclave.runtime;

import io.grpc.BindableService;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.okhttp.OkHttpServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * The gRPC server every enclave process serves on (the secure aggregator, the inference enclave):
 * OkHttp, not Netty, so the measured image carries a transport of a few hundred classes instead of
 * ~1,600 and no native libraries (docs/trust.md). Plaintext on purpose: what clients send an enclave
 * is HPKE-sealed to its attested key and what it answers is sealed or signed by attested keys, so
 * the channel's confidentiality is not what protects it; the host reaches it on loopback (vsock in
 * a Nitro enclave).
 */
public final class EnclaveServer {
  private EnclaveServer() {
  }

  /**
   * Starts a server on {@code listen} for {@code services}.
   *
   * @param maxInboundMessageBytes the largest request accepted; the flow-control window is four of them (1 to
   *                               64 MiB), so a whole request is in flight before the enclave acknowledges it
   * @param directExecutor         run calls on the transport's thread (short calls from one local caller: no
   *                               executor hand-off per request)
   */
  public static Server start(InetSocketAddress listen, int maxInboundMessageBytes, boolean directExecutor,
                             List<BindableService> services) throws IOException {
    if (maxInboundMessageBytes < 1) {
      throw new IllegalArgumentException("maxInboundMessageBytes must be positive, got " + maxInboundMessageBytes);
    }
    OkHttpServerBuilder b = OkHttpServerBuilder.forPort(listen, InsecureServerCredentials.create())
        .maxInboundMessageSize(maxInboundMessageBytes)
        .flowControlWindow((int) Math.min(64L << 20, Math.max(1L << 20, 4L * maxInboundMessageBytes)));
    if (directExecutor) {
      b.directExecutor();
    }
    services.forEach(b::addService);
    return b.build().start();
  }
}

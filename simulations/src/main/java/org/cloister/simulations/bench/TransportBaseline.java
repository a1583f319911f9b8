package org.cloister.simulations.bench;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.simulations.ConsortiumCredentials;

/**
 * What the wire alone costs per round: N clients, each with its own mTLS channel (the same
 * credentials and TLS stack as the coordinator's server and the sites' channels), download a
 * P-float model and upload a P-float update as protobuf messages, with no Cloister logic around
 * them (no round engine, codec, sealing, ledger, aggregation or store). A round ends when all N
 * uploads have been answered. The baseline the plaintext round is compared to
 * ({@code plaintext_over_transport}).
 */
final class TransportBaseline {
  private static final String SERVICE = "cloister.bench.Transport";
  private static final MethodDescriptor.Marshaller<ModelArtifact> MARSHALLER =
      ProtoUtils.marshaller(ModelArtifact.getDefaultInstance());
  static final MethodDescriptor<ModelArtifact, ModelArtifact> DOWNLOAD = method("Download");
  static final MethodDescriptor<ModelArtifact, ModelArtifact> UPLOAD = method("Upload");

  private TransportBaseline() {
  }

  private static MethodDescriptor<ModelArtifact, ModelArtifact> method(String name) {
    return MethodDescriptor.<ModelArtifact, ModelArtifact>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(MARSHALLER).setResponseMarshaller(MARSHALLER).build();
  }

  /** Per-round times in milliseconds of {@code rounds} measured rounds after {@code warmup} ones. */
  static double[] run(int sites, int params, int rounds, int warmup, long seed) throws Exception {
    ConsortiumCredentials pki = ConsortiumCredentials.ephemeral("bench-transport", java.time.Duration.ofDays(1));
    ModelArtifact model = ModelArtifact.newBuilder().setStudyId("bench-transport").setVersion(1)
        .setDimension(params).setPayload(ByteString.copyFrom(randomBytes(params * Float.BYTES, seed))).build();
    ModelArtifact ack = ModelArtifact.newBuilder().setStudyId("bench-transport").build();
    ServerServiceDefinition service = ServerServiceDefinition.builder(SERVICE)
        .addMethod(DOWNLOAD, ServerCalls.asyncUnaryCall((req, out) -> {
          out.onNext(model);
          out.onCompleted();
        }))
        .addMethod(UPLOAD, ServerCalls.asyncUnaryCall((req, out) -> {
          if (req.getPayload().size() != params * Float.BYTES) {
            out.onError(io.grpc.Status.INVALID_ARGUMENT.withDescription("wrong size").asRuntimeException());
            return;
          }
          out.onNext(ack);
          out.onCompleted();
        }))
        .build();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), pki.serverCredentials())
        .maxInboundMessageSize(64 * 1024 * 1024).addService(service).build().start();
    List<ManagedChannel> channels = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(sites);
    try {
      List<ModelArtifact> updates = new ArrayList<>();
      for (int s = 0; s < sites; s++) {
        channels.add(NettyChannelBuilder.forAddress("127.0.0.1", server.getPort(),
                pki.clientCredentials(pki.issue(RoundBenchmark.siteId(s))))
            .maxInboundMessageSize(64 * 1024 * 1024).build());
        updates.add(ModelArtifact.newBuilder().setStudyId("bench-transport").setVersion(2).setDimension(params)
            .setPayload(ByteString.copyFrom(randomBytes(params * Float.BYTES, seed + 1 + s))).build());
      }
      ModelArtifact request = ModelArtifact.newBuilder().setStudyId("bench-transport").setVersion(1).build();
      double[] measured = new double[rounds];
      for (int r = 0; r < warmup + rounds; r++) {
        long t0 = System.nanoTime();
        List<Future<?>> calls = new ArrayList<>();
        for (int s = 0; s < sites; s++) {
          ManagedChannel ch = channels.get(s);
          ModelArtifact up = updates.get(s);
          calls.add(pool.submit(() -> {
            ModelArtifact down = ClientCalls.blockingUnaryCall(ch, DOWNLOAD, CallOptions.DEFAULT, request);
            if (down.getPayload().size() != params * Float.BYTES) {
              throw new IllegalStateException("transport baseline: short download");
            }
            ClientCalls.blockingUnaryCall(ch, UPLOAD, CallOptions.DEFAULT, up);
            return null;
          }));
        }
        for (Future<?> f : calls) {
          f.get(120, TimeUnit.SECONDS);
        }
        if (r >= warmup) {
          measured[r - warmup] = (System.nanoTime() - t0) / 1e6;
        }
      }
      return measured;
    } finally {
      pool.shutdownNow();
      channels.forEach(ManagedChannel::shutdownNow);
      server.shutdownNow();
    }
  }

  private static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int i = 0; i < n; i += 8) {
      long v = rnd.nextLong();
      for (int j = 0; j < 8 && i + j < n; j++) {
        b[i + j] = (byte) (v >>> (8 * j));
      }
    }
    return b;
  }
}

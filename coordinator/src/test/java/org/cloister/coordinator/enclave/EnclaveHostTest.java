package org.cloister.coordinator.enclave;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.File;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.cloister.coordinator.aggregation.AggregationResult;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.protocol.v1.AggregateInput;
import org.cloister.protocol.v1.AggregateOutput;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.protocol.v1.SecureAggregatorGrpc;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host side on its own: how the coordinator streams a round to whatever serves the enclave's
 * gRPC contract, stores what comes back, and survives an unreachable or refusing enclave; and how
 * it starts and ends a separate JVM. (The real enclave process is exercised end to end in the
 * simulations module, which may depend on every side.)
 */
class EnclaveHostTest {
  static final ModelArtifact BASE = ModelArtifact.newBuilder().setStudyId("s").setVersion(4).setDimension(2).build();

  static List<ReceivedUpdate> updates(int n) {
    List<ReceivedUpdate> out = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      out.add(new ReceivedUpdate("site-" + i, UpdateEnvelope.newBuilder().setStudyId("s").setRound(3).setRoundId("r3")
          .setBaseModelVersion(4).setNumExamples(10).setPayloadFormat("hpke-x25519-aes256gcm-stream4k-v1")
          .setPayload(ByteString.copyFrom(new byte[1 << 16])).build(), null));
    }
    return out;
  }

  /** Records what the host streams and answers like an enclave would. */
  static final class RecordingEnclave extends SecureAggregatorGrpc.SecureAggregatorImplBase {
    final List<AggregateInput> received = new ArrayList<>();
    volatile Status refuse;

    @Override
    public StreamObserver<AggregateInput> aggregate(StreamObserver<AggregateOutput> out) {
      return new StreamObserver<>() {
        @Override
        public void onNext(AggregateInput in) {
          synchronized (received) {
            received.add(in);
          }
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
          if (refuse != null) {
            out.onError(refuse.asRuntimeException());
            return;
          }
          out.onNext(AggregateOutput.newBuilder().setPublished(true)
              .setModel(BASE.toBuilder().setVersion(5).setFormat("cloister-kms-aes256gcm-v2"))
              .addAggregated("site-1").putRejected("site-2", "not_finite: the update contains NaN or infinite values")
              .addCopies(SealedModelCopy.newBuilder().setStudyId("s").setVersion(5).setMemberId("site-1")
                  .setPayload(ByteString.copyFromUtf8("ciphertext")))
              .build());
          out.onCompleted();
        }
      };
    }
  }

  @Test
  void streamsTheRoundInOrderAndStoresTheSealedResults(@TempDir Path store) throws Exception {
    RecordingEnclave enclave = new RecordingEnclave();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(enclave).build().start();
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    try {
      SealedModelStore s = new SealedModelStore(store);
      AggregationResult r = new EnclaveAggregator(ch, s, Duration.ofSeconds(30)).aggregate("r3", 3, BASE, updates(40));
      assertThat(r.model().getVersion()).isEqualTo(5);
      assertThat(r.aggregated()).containsExactly("site-1");
      assertThat(r.rejected()).containsEntry("site-2", "not_finite: the update contains NaN or infinite values");
      assertThat(enclave.received).hasSize(41);
      assertThat(enclave.received.get(0).getHeader().getRoundId()).isEqualTo("r3");
      assertThat(enclave.received.get(40).getUpdate().getSiteId()).isEqualTo("site-40");
      assertThat(s.copy("s", 5, "site-1")).isPresent();
      assertThat(store.resolve("s/v5/site-1.sealed")).exists();
      assertThat(store.resolve("s/v5/model.bin")).exists();

      enclave.refuse = Status.FAILED_PRECONDITION.withDescription("round id r3 was already aggregated");
      AggregationResult refused = new EnclaveAggregator(ch, s, Duration.ofSeconds(30)).aggregate("r3", 3, BASE, updates(2));
      assertThat(refused.model()).isNull();
      assertThat(refused.rejected()).containsEntry("site-1",
          "secure aggregator: FAILED_PRECONDITION: round id r3 was already aggregated");
    } finally {
      ch.shutdownNow();
      server.shutdownNow();
    }
  }

  @Test
  void anUnreachableEnclaveRejectsTheRoundWithAReasonInsteadOfFailing() {
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", 1).usePlaintext().build();
    try {
      AggregationResult r = new EnclaveAggregator(ch, new SealedModelStore(null), Duration.ofSeconds(10))
          .aggregate("r1", 1, BASE, updates(2));
      assertThat(r.model()).isNull();
      assertThat(r.rejected()).hasSize(2).allSatisfy((site, reason) -> assertThat(reason).startsWith("secure aggregator: UNAVAILABLE"));
    } finally {
      ch.shutdownNow();
    }
  }

  /** A stand-in process main: announces itself like the enclave does, or fails like it. */
  public static final class FakeProcess {
    public static void main(String[] args) throws Exception {
      if (args.length > 0 && args[0].equals("fail")) {
        System.out.println("PREFIX-FAILED key broker refused GenerateDataKey: PCR_MISMATCH");
        System.exit(3);
      }
      System.out.println("some log line");
      System.out.println("PREFIX-READY port=4242 pcr0=abcd");
      System.out.flush();
      Thread.sleep(60_000);
    }
  }

  @Test
  void aSeparateJvmIsStartedAwaitedAndEnded() throws Exception {
    List<Path> cp = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      cp.add(Path.of(e));
    }
    try (JavaProcess p = JavaProcess.start("fake", List.of("-Xmx32m"), cp, FakeProcess.class.getName(), List.of(),
        "PREFIX-READY ", "PREFIX-FAILED ", Duration.ofSeconds(30))) {
      assertThat(p.port()).isEqualTo(4242);
      assertThat(p.readyField("pcr0")).isEqualTo("abcd");
      assertThat(p.isAlive()).isTrue();
      p.close();
      assertThat(p.isAlive()).isFalse();
    }
    assertThatThrownBy(() -> JavaProcess.start("fake", List.of("-Xmx32m"), cp, FakeProcess.class.getName(),
        List.of("fail"), "PREFIX-READY ", "PREFIX-FAILED ", Duration.ofSeconds(30)))
        .isInstanceOf(JavaProcess.StartException.class)
        .hasMessageContaining("fake failed to start: key broker refused GenerateDataKey: PCR_MISMATCH");
    assertThatThrownBy(() -> JavaProcess.start("fake", List.of(), List.of(Files.createTempFile("empty", ".jar")),
        "no.such.Main", List.of(), "PREFIX-READY ", "PREFIX-FAILED ", Duration.ofSeconds(30)))
        .isInstanceOf(JavaProcess.StartException.class).hasMessageContaining("exited before it was ready");
  }
}

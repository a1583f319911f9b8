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
    /** Every header received, refused ones included. */
    final List<org.cloister.protocol.v1.RoundHeader> headers = new java.util.concurrent.CopyOnWriteArrayList<>();
    final java.util.concurrent.Semaphore items = new java.util.concurrent.Semaphore(0);
    final java.util.concurrent.Semaphore endedByHost = new java.util.concurrent.Semaphore(0);
    final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger completions = new java.util.concurrent.atomic.AtomicInteger();
    volatile Status refuse;
    /** Refuses the header of the first call (as an enclave holding another round would). */
    volatile boolean refuseFirstHeader;

    @Override
    public StreamObserver<AggregateInput> aggregate(StreamObserver<AggregateOutput> out) {
      int call = calls.incrementAndGet();
      return new StreamObserver<>() {
        boolean failed;

        @Override
        public void onNext(AggregateInput in) {
          if (failed) {
            return;
          }
          if (in.hasHeader()) {
            headers.add(in.getHeader());
          }
          if (call == 1 && refuseFirstHeader && in.hasHeader()) {
            failed = true;
            out.onError(Status.FAILED_PRECONDITION.withDescription(in.getHeader().getBaseModel().getPayload().isEmpty()
                && in.getHeader().getBaseModel().getFormat().equals("cloister-kms-aes256gcm-v2")
                ? "base_model_not_held: this enclave instance has published no model"
                : "another round is being aggregated").asRuntimeException());
            items.release();
            return;
          }
          synchronized (received) {
            received.add(in);
          }
          items.release();
        }

        @Override
        public void onError(Throwable t) {
          endedByHost.release();
        }

        @Override
        public void onCompleted() {
          completions.incrementAndGet();
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

  /** Waits (without a deadline of its own) until the enclave has seen {@code n} more items. */
  private static void awaitItems(RecordingEnclave enclave, int n) throws InterruptedException {
    assertThat(enclave.items.tryAcquire(n, 60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void streamsEachAcceptedUpdateBeforeTheRoundClosesAndOnlyEndsTheCallAtClose() throws Exception {
    RecordingEnclave enclave = new RecordingEnclave();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(enclave).build().start();
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    try {
      EnclaveAggregator agg = new EnclaveAggregator(ch, new SealedModelStore(null), Duration.ofSeconds(30));
      List<ReceivedUpdate> round = updates(3);
      // arrival order differs from the final (by site) order; the first arrives in a (server) call's
      // context that ends right after: the round's stream must outlive it
      io.grpc.Context.CancellableContext submitCall = io.grpc.Context.current().withCancellation();
      submitCall.run(() -> agg.accepted("r3", 3, BASE, round.get(2)));
      submitCall.cancel(null);
      agg.accepted("r3", 3, BASE, round.get(0));
      awaitItems(enclave, 3); // header + two updates, while the round is still open
      assertThat(enclave.completions.get()).isZero();
      agg.accepted("r3", 3, BASE, round.get(1));
      AggregationResult r = agg.aggregate("r3", 3, BASE, round);
      assertThat(r.model().getVersion()).isEqualTo(5);
      assertThat(enclave.calls.get()).isEqualTo(1);
      assertThat(enclave.received).hasSize(4);
      assertThat(enclave.received.get(0).getHeader().getRoundId()).isEqualTo("r3");
      assertThat(enclave.received.subList(1, 4)).extracting(in -> in.getUpdate().getSiteId())
          .containsExactly("site-3", "site-1", "site-2");
    } finally {
      ch.shutdownNow();
      server.shutdownNow();
    }
  }

  @Test
  void anAbandonedRoundEndsItsStreamAndTheNextRoundStreamsAfresh() throws Exception {
    RecordingEnclave enclave = new RecordingEnclave();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(enclave).build().start();
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    try {
      EnclaveAggregator agg = new EnclaveAggregator(ch, new SealedModelStore(null), Duration.ofSeconds(30));
      agg.accepted("r2", 3, BASE, updates(1).get(0));
      awaitItems(enclave, 2);
      agg.abandoned("r2");
      assertThat(enclave.endedByHost.tryAcquire(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      List<ReceivedUpdate> round = updates(2);
      agg.accepted("r3", 3, BASE, round.get(0));
      AggregationResult r = agg.aggregate("r3", 3, BASE, round);
      assertThat(r.model()).isNotNull();
      assertThat(enclave.calls.get()).isEqualTo(2);
      assertThat(enclave.completions.get()).isEqualTo(1);
    } finally {
      ch.shutdownNow();
      server.shutdownNow();
    }
  }

  @Test
  void aStreamRefusedBeforeTheRoundClosedIsSentAgainInOneCall() throws Exception {
    RecordingEnclave enclave = new RecordingEnclave();
    enclave.refuseFirstHeader = true;
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(enclave).build().start();
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    try {
      java.util.concurrent.Semaphore closed = new java.util.concurrent.Semaphore(0);
      io.grpc.ClientInterceptor onClose = new io.grpc.ClientInterceptor() {
        @Override
        public <Q, A> io.grpc.ClientCall<Q, A> interceptCall(io.grpc.MethodDescriptor<Q, A> method,
                                                             io.grpc.CallOptions options, io.grpc.Channel next) {
          return new io.grpc.ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<A> listener, io.grpc.Metadata headers) {
              super.start(new io.grpc.ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                @Override
                public void onClose(Status status, io.grpc.Metadata trailers) {
                  super.onClose(status, trailers);
                  closed.release();
                }
              }, headers);
            }
          };
        }
      };
      EnclaveAggregator agg = new EnclaveAggregator(io.grpc.ClientInterceptors.intercept(ch, onClose),
          new SealedModelStore(null), Duration.ofSeconds(30));
      List<ReceivedUpdate> round = updates(2);
      agg.accepted("r3", 3, BASE, round.get(0));
      assertThat(closed.tryAcquire(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue(); // the refusal reached the host
      agg.accepted("r3", 3, BASE, round.get(1));
      AggregationResult r = agg.aggregate("r3", 3, BASE, round);
      assertThat(r.model()).isNotNull();
      assertThat(enclave.calls.get()).isEqualTo(2);
      assertThat(enclave.received).extracting(in -> in.hasHeader() ? "header" : in.getUpdate().getSiteId())
          .containsExactly("header", "site-1", "site-2");
    } finally {
      ch.shutdownNow();
      server.shutdownNow();
    }
  }

  @Test
  void aStreamedRoundNamesAPublishedBaseByReferenceAndSendsItInFullWhenTheEnclaveRefusesTheReference() throws Exception {
    RecordingEnclave enclave = new RecordingEnclave();
    enclave.refuseFirstHeader = true; // as a restarted enclave refuses a reference (base_model_not_held)
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(enclave).build().start();
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    ModelArtifact published = BASE.toBuilder().setFormat("cloister-kms-aes256gcm-v2")
        .setPayload(ByteString.copyFrom(new byte[1 << 12])).setSha256(ByteString.copyFrom(new byte[32])).build();
    try {
      EnclaveAggregator agg = new EnclaveAggregator(ch, new SealedModelStore(null), Duration.ofSeconds(30));
      List<ReceivedUpdate> round = updates(2);
      // the round closes at once: the refusal may reach the host before or after it ends the streamed call
      agg.accepted("r3", 3, published, round.get(0));
      agg.accepted("r3", 3, published, round.get(1));
      AggregationResult r = agg.aggregate("r3", 3, published, round);
      assertThat(r.model()).isNotNull();
      assertThat(enclave.headers).hasSize(2);
      // streamed: version and digest only; sent again: the model in full
      assertThat(enclave.headers.get(0).getBaseModel()).isEqualTo(published.toBuilder().clearPayload().build());
      assertThat(enclave.headers.get(1).getBaseModel()).isEqualTo(published);
      // the public initial model (f32le) is never named by reference: the enclave cannot hold it
      ModelArtifact initial = BASE.toBuilder().setVersion(1).setFormat("f32le")
          .setPayload(ByteString.copyFrom(new byte[8])).build();
      assertThat(EnclaveAggregator.streamedHeader("r1", 1, initial).getHeader().getBaseModel()).isEqualTo(initial);
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
      if (args.length > 0 && args[0].equals("last-words")) {
        System.out.println("some log line");
        System.out.print("last words"); // no newline, then the end of the stream
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
    // a last line without its newline is read at the end of the stream, not lost
    assertThatThrownBy(() -> JavaProcess.start("fake", List.of("-Xmx32m"), cp, FakeProcess.class.getName(),
        List.of("last-words"), "PREFIX-READY ", "PREFIX-FAILED ", Duration.ofSeconds(30)))
        .isInstanceOf(JavaProcess.StartException.class)
        .hasMessageContaining("fake exited before it was ready (output: some log line | last words)");
    assertThatThrownBy(() -> JavaProcess.start("fake", List.of(), List.of(Files.createTempFile("empty", ".jar")),
        "no.such.Main", List.of(), "PREFIX-READY ", "PREFIX-FAILED ", Duration.ofSeconds(30)))
        .isInstanceOf(JavaProcess.StartException.class).hasMessageContaining("exited before it was ready");
  }

  @Test
  void aChildsLogLineIsForwardedWithoutItsOwnPrefixAtItsOwnLevel() {
    // what the enclave's simple logger prints (no timestamp) and what the parent then logs, with its own prefix once
    org.assertj.core.api.Assertions.assertThat(JavaProcess.childLine(
            "[grpc-default-executor-1] INFO org.cloister.enclave.EnclaveServer - round 10: published model version 11"))
        .containsExactly("INFO", "round 10: published model version 11");
    org.assertj.core.api.Assertions.assertThat(JavaProcess.childLine(
            "2026-12-05T09:00:00.000Z [main] WARN org.cloister.broker.KeyBrokerMain - key disabled"))
        .containsExactly("WARN", "key disabled");
    // plain output stays as it is
    org.assertj.core.api.Assertions.assertThat(JavaProcess.childLine("WARNING: SIMULATED attestation platform"))
        .containsExactly("WARN", "WARNING: SIMULATED attestation platform");
    org.assertj.core.api.Assertions.assertThat(JavaProcess.childLine("listening")).containsExactly("INFO", "listening");
  }
}

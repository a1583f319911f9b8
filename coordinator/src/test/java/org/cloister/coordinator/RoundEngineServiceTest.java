package org.cloister.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.coordinator.aggregation.PlaintextFedAvgAggregator;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.service.CoordinatorServer;
import org.cloister.coordinator.service.DevelopmentHeaderIdentityResolver;
import org.cloister.coordinator.strategy.FedAvgStrategy;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.coordinator.study.StudyStatusKind;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.Headers;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.FetchModelRequest;
import org.cloister.protocol.v1.JoinRequest;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.PollTaskRequest;
import org.cloister.protocol.v1.PollTaskResponse;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The round engine behind a real gRPC server on loopback, driven by hand-written site clients. */
class RoundEngineServiceTest {
  private static final String STUDY = "s1";
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final AtomicInteger rejections = new AtomicInteger();
  private final io.micrometer.core.instrument.simple.SimpleMeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
  private CoordinatorServer server;
  /** What the server hands out with tasks (nothing unless a test sets it). */
  private org.cloister.coordinator.service.TaskAttachments attachments = org.cloister.coordinator.service.TaskAttachments.NONE;

  private RoundEngine start(int rounds, int minSites, int expectedSites, Duration deadline) throws Exception {
    return start(rounds, minSites, expectedSites, deadline, org.cloister.coordinator.rounds.EngineTime.of(Clock.systemUTC()));
  }

  private RoundEngine start(int rounds, int minSites, int expectedSites, Duration deadline,
                            org.cloister.coordinator.rounds.EngineTime time) throws Exception {
    float[] w0 = {0f, 0f, 0f};
    byte[] p = FloatCodec.encode(w0);
    ModelArtifact m0 = ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setModelName("toy").setDimension(3)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(p)).build();
    StudyConfig cfg = new StudyConfig(STUDY, "toy", 3, rounds, minSites, 0, deadline, Duration.ofSeconds(20), 2,
        TrainingConfig.newBuilder().setLocalEpochs(1).build(), 1024, expectedSites, Duration.ofSeconds(2), false);
    RoundEngine engine = new RoundEngine(cfg, m0, new FedAvgStrategy(),
        new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(3)), new org.cloister.coordinator.store.JdbcStudyStore("jdbc:sqlite::memory:"),
        null, time, 1);
    org.cloister.coordinator.rounds.CoordinatorMetrics metrics = new org.cloister.coordinator.rounds.CoordinatorMetrics(registry);
    engine.addListener(metrics);
    server = new CoordinatorServer(new InetSocketAddress("127.0.0.1", 0), io.grpc.InsecureServerCredentials.create(), engine,
        new DevelopmentHeaderIdentityResolver(),
        (rpc, reason) -> {
          rejections.incrementAndGet();
          metrics.refused(rpc, reason);
        }, b -> { }, attachments).start();
    return engine;
  }

  private FederationGrpc.FederationBlockingStub site(String id) {
    NettyChannelBuilder b = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext();
    if (id != null) {
      Metadata h = new Metadata();
      h.put(Headers.DEV_SITE_ID, id);
      b.intercept(MetadataUtils.newAttachHeadersInterceptor(h));
    }
    ManagedChannel ch = b.build();
    channels.add(ch);
    return FederationGrpc.newBlockingStub(ch);
  }

  @AfterEach
  void tearDown() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    if (server != null) {
      server.close();
    }
  }

  private static RoundTask poll(FederationGrpc.FederationBlockingStub s) {
    for (int i = 0; i < 50; i++) {
      PollTaskResponse r = s.pollTask(PollTaskRequest.newBuilder().setStudyId(STUDY).setWaitMs(200).build());
      if (r.hasTask()) {
        return r.getTask();
      }
      if (r.hasFinished()) {
        return null;
      }
    }
    throw new AssertionError("no task");
  }

  private static UpdateEnvelope update(RoundTask t, float[] delta, long n) {
    return UpdateEnvelope.newBuilder().setStudyId(STUDY).setRound(t.getRound()).setRoundId(t.getRoundId())
        .setBaseModelVersion(t.getModel().getVersion()).setNumExamples(n).setPayloadFormat(FloatCodec.DELTA_F32LE)
        .setPayload(ByteString.copyFrom(FloatCodec.encode(delta))).build();
  }

  @Test
  void aTaskComesWithTheChallengeOverThatPollsNonceAndAMalformedNonceIsRefused() throws Exception {
    List<String> asked = java.util.Collections.synchronizedList(new ArrayList<>());
    // a test double of the enclave's answer: names the round id and the nonce it was asked over
    attachments = (siteId, task, nonce, response) -> {
      if (!nonce.isEmpty()) {
        asked.add(task.getRoundId());
        response.setRoundChallenge(ByteString.copyFromUtf8(task.getRoundId() + "/"
            + java.util.HexFormat.of().formatHex(nonce.toByteArray())));
      }
      response.setSealedModelCopy(ByteString.copyFromUtf8("copy for " + siteId));
    };
    start(1, 1, 1, Duration.ofSeconds(10));
    var a = site("A");
    a.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(10).build());
    assertThatThrownBy(() -> a.pollTask(PollTaskRequest.newBuilder().setStudyId(STUDY).setWaitMs(10)
        .setChallengeNonce(ByteString.copyFrom(new byte[8])).build()))
        .isInstanceOf(StatusRuntimeException.class).hasMessageContaining("INVALID_ARGUMENT")
        .hasMessageContaining("challenge_nonce must be 16..64 bytes (or empty), got 8");
    byte[] nonce = new byte[32];
    new java.security.SecureRandom().nextBytes(nonce);
    PollTaskResponse r = null;
    for (int i = 0; i < 50 && (r == null || !r.hasTask()); i++) {
      r = a.pollTask(PollTaskRequest.newBuilder().setStudyId(STUDY).setWaitMs(200)
          .setChallengeNonce(ByteString.copyFrom(nonce)).build());
    }
    assertThat(r.hasTask()).isTrue();
    assertThat(r.getRoundChallenge().toStringUtf8())
        .isEqualTo(r.getTask().getRoundId() + "/" + java.util.HexFormat.of().formatHex(nonce));
    assertThat(r.getSealedModelCopy().toStringUtf8()).as("attached for the polling site").isEqualTo("copy for A");
    // a poll without a nonce (an older site) gets the task alone, and the enclave is not asked for it
    int before = asked.size();
    PollTaskResponse old = a.pollTask(PollTaskRequest.newBuilder().setStudyId(STUDY).setWaitMs(200).build());
    assertThat(old.getTask()).isEqualTo(r.getTask());
    assertThat(old.getRoundChallenge()).isEmpty();
    assertThat(asked).hasSize(before);
  }

  @Test
  void twoSitesCompleteTwoRoundsWithWeightedAverage() throws Exception {
    RoundEngine engine = start(2, 2, 2, Duration.ofSeconds(10));
    var a = site("A");
    var b = site("B");
    a.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(10).build());
    b.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(30).build());
    for (int round = 1; round <= 2; round++) {
      RoundTask ta = poll(a);
      RoundTask tb = poll(b);
      assertThat(ta.getRound()).isEqualTo(round);
      assertThat(tb.getRoundId()).isEqualTo(ta.getRoundId());
      a.submitUpdate(update(ta, new float[] {4f, 0f, 0f}, 10));
      b.submitUpdate(update(tb, new float[] {0f, 4f, 0f}, 30));
      // the round closes as soon as every selected site answered
    }
    assertThat(engine.awaitEnd(Duration.ofSeconds(10))).isTrue();
    assertThat(engine.status()).isEqualTo(StudyStatusKind.FINISHED);
    ModelArtifact last = a.fetchModel(FetchModelRequest.newBuilder().setStudyId(STUDY).build());
    assertThat(last.getVersion()).isEqualTo(3);
    // two rounds of (10*4 + 30*0)/40 = 1 and (10*0 + 30*4)/40 = 3
    assertThat(FloatCodec.decode(last.getPayload(), 3)).containsExactly(2f, 6f, 0f);
    assertThat(poll(a)).isNull(); // finished
  }

  @Test
  void replayedWrongRoundWrongVersionOversizedAndUnknownStudyAreRefusedAndServingContinues() throws Exception {
    start(1, 2, 2, Duration.ofSeconds(10));
    var a = site("A");
    var b = site("B");
    a.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(5).build());
    b.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(5).build());
    RoundTask t = poll(a);
    a.submitUpdate(update(t, new float[] {1f, 1f, 1f}, 5));
    // the identical update again (a retry whose answer was lost) is acknowledged and counted once ...
    assertThat(a.submitUpdate(update(t, new float[] {1f, 1f, 1f}, 5)).getAccepted()).isTrue();
    // ... another update for the same round is a replay
    assertThatThrownBy(() -> a.submitUpdate(update(t, new float[] {2f, 1f, 1f}, 5)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS))
        .hasMessageContaining("already submitted");
    RoundTask tb = poll(b);
    assertThatThrownBy(() -> b.submitUpdate(update(tb, new float[3], 5).toBuilder().setRoundId("bogus").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION))
        .hasMessageContaining("is not open");
    assertThatThrownBy(() -> b.submitUpdate(update(tb, new float[3], 5).toBuilder().setBaseModelVersion(99).build()))
        .hasMessageContaining("model version 99");
    assertThatThrownBy(() -> b.submitUpdate(update(tb, new float[300], 5)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED))
        .hasMessageContaining("exceeds the limit of 1024");
    assertThatThrownBy(() -> b.submitUpdate(update(tb, new float[3], 5).toBuilder().setStudyId("other").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    assertThat(rejections.get()).isEqualTo(5);
    assertThat(registry.counter("cloister.requests.refused", "rpc", "SubmitUpdate", "reason", "replayed").count()).isEqualTo(1.0);
    assertThat(registry.counter("cloister.requests.refused", "rpc", "SubmitUpdate", "reason", "oversized").count()).isEqualTo(1.0);
    b.submitUpdate(update(tb, new float[] {1f, 1f, 1f}, 5)); // still serving
  }

  @Test
  void malformedMessagesAreRefusedWithTheRpcNamedAndCountedAndServingContinues() throws Exception {
    start(1, 1, 1, Duration.ofSeconds(10));
    var a = site("A");
    // bytes that are not a protobuf message: field 1 claims a length far past the end
    io.grpc.MethodDescriptor<byte[], byte[]> raw = FederationGrpc.getSubmitUpdateMethod().toBuilder(
        new BytesMarshaller(), new BytesMarshaller()).build();
    io.grpc.Channel ch = channels.get(channels.size() - 1);
    assertThatThrownBy(() -> io.grpc.stub.ClientCalls.blockingUnaryCall(ch, raw, io.grpc.CallOptions.DEFAULT,
        new byte[] {0x0a, (byte) 0xff, 0x7f, 1, 2}))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining("malformed SubmitUpdate request");
    assertThat(registry.counter("cloister.requests.refused", "rpc", "SubmitUpdate", "reason", "malformed").count()).isEqualTo(1.0);
    // still serving, on the same connection
    a.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(5).build());
    RoundTask t = poll(a);
    a.submitUpdate(update(t, new float[] {1f, 1f, 1f}, 5));
  }

  private static final class BytesMarshaller implements io.grpc.MethodDescriptor.Marshaller<byte[]> {
    @Override
    public java.io.InputStream stream(byte[] value) {
      return new java.io.ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(java.io.InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  @Test
  void callsWithoutIdentityAreUnauthenticated() throws Exception {
    start(1, 1, 1, Duration.ofSeconds(5));
    assertThatThrownBy(() -> site(null).join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(1).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
  }

  @Test
  void stragglerIsLeftOutAndTheRoundCompletesAtTheDeadline() throws Exception {
    // virtual time: the deadline passes when the test says so, not after a real wait
    org.cloister.coordinator.rounds.VirtualTime time = new org.cloister.coordinator.rounds.VirtualTime(0);
    RoundEngine engine = start(1, 2, 3, Duration.ofMinutes(10), time);
    var a = site("A");
    var b = site("B");
    var c = site("C");
    for (var s : List.of(a, b, c)) {
      s.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(5).build());
    }
    RoundTask t = poll(a);
    a.submitUpdate(update(t, new float[] {1f, 0f, 0f}, 5));
    b.submitUpdate(update(poll(b), new float[] {0f, 1f, 0f}, 5));
    // C never answers
    time.advance(Duration.ofMinutes(10));
    assertThat(engine.awaitEnd(Duration.ofSeconds(10))).isTrue();
    RoundResult r = engine.history().get(0);
    assertThat(r.quorumMet()).isTrue();
    assertThat(r.aggregated()).containsExactlyInAnyOrder("A", "B");
    assertThat(r.rejected()).containsOnlyKeys("C");
    assertThat(r.rejected().get("C")).contains("deadline");
    assertThat(registry.counter("cloister.updates.rejected", "reason", "straggler").count()).isEqualTo(1.0);
  }

  @Test
  void roundWithoutQuorumIsRetriedThenTheStudyPauses() throws Exception {
    org.cloister.coordinator.rounds.VirtualTime time = new org.cloister.coordinator.rounds.VirtualTime(0);
    RoundEngine engine = start(1, 2, 2, Duration.ofMinutes(10), time);
    var a = site("A");
    var b = site("B");
    a.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(5).build());
    b.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(5).build());
    // only A answers, twice (two attempts), B keeps polling without answering
    for (int attempt = 0; attempt < 2; attempt++) {
      RoundTask t = poll(a);
      a.submitUpdate(update(t, new float[] {1f, 0f, 0f}, 5));
      b.pollTask(PollTaskRequest.newBuilder().setStudyId(STUDY).setWaitMs(10).build());
      time.advance(Duration.ofMinutes(10)); // the attempt's deadline
    }
    assertThat(engine.awaitEnd(Duration.ofSeconds(10))).isTrue();
    assertThat(engine.status()).isEqualTo(StudyStatusKind.PAUSED);
    assertThat(engine.statusDetail()).contains("quorum of 2 not met after 2 attempts");
    assertThat(engine.history()).hasSize(2).noneMatch(RoundResult::quorumMet);
  }

  @Test
  void invalidUpdateIsRejectedWithReasonAndTheOthersAreAggregated() throws Exception {
    RoundEngine engine = start(1, 1, 2, Duration.ofSeconds(10));
    var a = site("A");
    var b = site("B");
    a.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(5).build());
    b.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(5).build());
    a.submitUpdate(update(poll(a), new float[] {1f, Float.NaN, 0f}, 5));
    b.submitUpdate(update(poll(b), new float[] {0f, 2f, 0f}, 5));
    assertThat(engine.awaitEnd(Duration.ofSeconds(10))).isTrue();
    RoundResult r = engine.history().get(0);
    assertThat(r.aggregated()).containsExactly("B");
    assertThat(r.rejected().get("A")).contains("not_finite");
    assertThat(registry.counter("cloister.updates.rejected", "reason", "not_finite").count()).isEqualTo(1.0);
    assertThat(registry.find("cloister.update.bytes").summary().count()).isEqualTo(2);
    assertThat(FloatCodec.decode(engine.model(0).orElseThrow().getPayload(), 3)).containsExactly(0f, 2f, 0f);
  }
}

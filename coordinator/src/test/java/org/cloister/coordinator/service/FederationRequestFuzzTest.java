package org.cloister.coordinator.service;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.MessageLite;
import io.grpc.Context;
import io.grpc.MethodDescriptor;
import io.grpc.stub.StreamObserver;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.coordinator.aggregation.PlaintextFedAvgAggregator;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.rounds.VirtualTime;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.coordinator.strategy.FedAvgStrategy;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.dp.events.DpEventJson;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.fuzz.RequestFuzz;
import org.cloister.protocol.fuzz.RequestFuzz.Answer;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.FetchModelRequest;
import org.cloister.protocol.v1.JoinRequest;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.PollTaskRequest;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.protocol.v1.ReconcileSpendsRequest;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SignedSpend;
import org.cloister.protocol.v1.StudyStatusRequest;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.cloister.trust.ledger.SpendSignatures;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;

/**
 * The coordinator's request handlers take bytes from any site: whatever a request's bytes, parsed
 * as gRPC parses them (the method's marshaller) and handed to the real {@link FederationService}
 * over a real {@link RoundEngine} (SQLite, privacy ledger, budgets) with a site's identity and
 * certificate in the context, the call ends with a value or a refusal status, never INTERNAL or
 * UNKNOWN (an exception escaping), and never hangs: a long poll waits in virtual time, which the
 * harness moves on when the call blocks. Half the inputs are a valid request with fuzzer edits.
 */
class FederationRequestFuzzTest {
  private static final String STUDY = "s";
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  private static final CertificateAuthority CA = CertificateAuthority.createRoot("consortium", EcCurve.P256,
      NOW.minus(1, ChronoUnit.DAYS), NOW.plus(1, ChronoUnit.DAYS), new SecureRandom());
  private static final IssuedCertificate SITE = CA.issueClient("site-1", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
  private static final IssuedCertificate OTHER = CA.issueClient("site-2", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
  private static final TrainingConfig TRAINING = TrainingConfig.newBuilder().setBatchSize(16).setLocalEpochs(1)
      .setDp(DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(1.0).setClipNorm(1.0)).build();
  private static final VirtualTime TIME = new VirtualTime(NOW.toEpochMilli());
  private static final AtomicReference<Thread> ENGINE_THREAD = new AtomicReference<>();
  private static final RoundEngine ENGINE = engine();
  private static final FederationService SERVICE = new FederationService(ENGINE, (rpc, reason) -> { });
  private static final AtomicReference<Thread> WORKER = new AtomicReference<>();
  private static final ExecutorService CALLS = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "fuzzed-call");
    t.setDaemon(true);
    WORKER.set(t);
    return t;
  });
  private static final List<Rpc<?>> RPCS = rpcs();

  private record Rpc<Q>(MethodDescriptor<Q, ?> method, byte[] valid, BiConsumer<Q, StreamObserver<Object>> handler) {
  }

  private static RoundEngine engine() {
    ModelArtifact m0 = ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setModelName("toy").setDimension(3)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(FloatCodec.encode(new float[3]))).build();
    StudyConfig cfg = new StudyConfig(STUDY, "toy", 3, 1_000_000, 1, 0, Duration.ofDays(1), Duration.ofSeconds(60), 3,
        TRAINING, 1024, 1, Duration.ofSeconds(1), true);
    RoundEngine engine = new RoundEngine(cfg, m0, new FedAvgStrategy(), new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(3)),
        new JdbcStudyStore("jdbc:sqlite::memory:"), new PrivacyBudgets(new PrivacyBudgets.Ceiling(1e9, 1e-5), Map.of()), TIME, 1);
    engine.join("site-1", 160);
    Thread loop = new Thread(engine, "round-engine");
    loop.setDaemon(true);
    loop.start();
    ENGINE_THREAD.set(loop);
    return engine;
  }

  private static SignedSpend spend(IssuedCertificate signer, String party, int round, String roundId) {
    byte[] bytes = PrivacySpend.newBuilder().setStudyId(STUDY).setPartyId(party).setRound(round).setRoundId(roundId)
        .setEventJson(DpEventJson.toJson(BudgetGuard.plannedEvent(TRAINING, 160)))
        .setEpsilonAfter(1.0).setDelta(1e-5).setTimestampMs(NOW.toEpochMilli()).build().toByteArray();
    return SignedSpend.newBuilder().setSpend(ByteString.copyFrom(bytes))
        .setSignature(ByteString.copyFrom(SpendSignatures.sign(bytes, signer.privateKey()))).build();
  }

  @SuppressWarnings("unchecked")
  private static <Q> Rpc<Q> rpc(MethodDescriptor<Q, ?> m, MessageLite valid, BiConsumer<Q, StreamObserver<?>> h) {
    return new Rpc<>(m, valid.toByteArray(), (q, o) -> h.accept(q, o));
  }

  private static List<Rpc<?>> rpcs() {
    RoundTask task = null;
    for (int i = 0; i < 100 && task == null; i++) {
      try {
        TIME.awaitBlocked(ENGINE_THREAD.get(), Duration.ofSeconds(10)); // the engine did all it can at this time
        if (ENGINE.pollTask("site-1", 0) instanceof RoundEngine.Poll.Task t) {
          task = t.task();
        }
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      TIME.advance(Duration.ofMillis(500));
    }
    if (task == null) {
      throw new IllegalStateException("the round engine opened no round for the fuzzer's valid seeds");
    }
    UpdateEnvelope update = UpdateEnvelope.newBuilder().setStudyId(STUDY).setRound(task.getRound()).setRoundId(task.getRoundId())
        .setBaseModelVersion(task.getModel().getVersion()).setNumExamples(160).setPayloadFormat(FloatCodec.DELTA_F32LE)
        .setPayload(ByteString.copyFrom(FloatCodec.encode(new float[] {1f, 0f, 0f})))
        .setSpend(spend(SITE, "site-1", task.getRound(), task.getRoundId())).build();
    return List.of(
        rpc(FederationGrpc.getJoinMethod(), JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(160).build(),
            (q, o) -> SERVICE.join(q, cast(o))),
        rpc(FederationGrpc.getPollTaskMethod(), PollTaskRequest.newBuilder().setStudyId(STUDY).setWaitMs(1000).build(),
            (q, o) -> SERVICE.pollTask(q, cast(o))),
        rpc(FederationGrpc.getSubmitUpdateMethod(), update, (q, o) -> SERVICE.submitUpdate(q, cast(o))),
        rpc(FederationGrpc.getReconcileSpendsMethod(), ReconcileSpendsRequest.newBuilder().setStudyId(STUDY)
            .addSpends(spend(SITE, "site-1", 7, "lost")).addSpends(spend(OTHER, "site-1", 8, "forged")).build(),
            (q, o) -> SERVICE.reconcileSpends(q, cast(o))),
        rpc(FederationGrpc.getFetchModelMethod(), FetchModelRequest.newBuilder().setStudyId(STUDY).setVersion(1).build(),
            (q, o) -> SERVICE.fetchModel(q, cast(o))),
        rpc(FederationGrpc.getGetStudyStatusMethod(), StudyStatusRequest.newBuilder().setStudyId(STUDY).build(),
            (q, o) -> SERVICE.getStudyStatus(q, cast(o))));
  }

  @SuppressWarnings("unchecked")
  private static <T> StreamObserver<T> cast(StreamObserver<?> o) {
    return (StreamObserver<T>) o;
  }


  private static <Q> Answer<Object> call(Rpc<Q> rpc, byte[] bytes, IssuedCertificate caller) throws Exception {
    Q request = RequestFuzz.parse(rpc.method(), bytes);
    if (request == null) {
      return null; // gRPC refuses it before any handler (MalformedMessageInterceptor names it to the caller)
    }
    Answer<Object> answer = new Answer<>();
    Context ctx = Context.current().withValues(SiteIdentity.SITE_ID, caller == SITE ? "site-1" : "site-2",
        SiteIdentity.CERTIFICATE, caller.certificate());
    Future<?> f = CALLS.submit(() -> ctx.run(() -> rpc.handler().accept(request, answer)));
    // a long poll waits in the engine's virtual time: move time on whenever the call blocks in it
    for (int i = 0; ; i++) {
      try {
        f.get(5, TimeUnit.MILLISECONDS); // an exception thrown by the handler itself surfaces here
        break;
      } catch (java.util.concurrent.TimeoutException stillRunning) {
        if (i > 2_000) {
          throw new AssertionError(rpc.method().getBareMethodName() + " hangs: no answer after 2,000 waits");
        }
      }
      if (TIME.awaitBlocked(WORKER.get(), Duration.ofMillis(50)) && !f.isDone()) {
        TIME.advance(Duration.ofSeconds(31));
      }
    }
    return answer;
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void request(FuzzedDataProvider d) throws Exception {
    Rpc<?> rpc = RPCS.get(d.consumeInt(0, RPCS.size() - 1));
    IssuedCertificate caller = d.consumeBoolean() ? SITE : OTHER;
    Answer<Object> a = call(rpc, RequestFuzz.mutate(d, rpc.valid()), caller);
    if (a != null) {
      a.check(rpc.method().getBareMethodName());
    }
  }
}

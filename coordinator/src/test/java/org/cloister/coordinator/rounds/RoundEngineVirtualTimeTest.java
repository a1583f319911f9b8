package org.cloister.coordinator.rounds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import java.time.Duration;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.coordinator.aggregation.PlaintextFedAvgAggregator;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.coordinator.strategy.FedAvgStrategy;
import org.cloister.coordinator.strategy.Strategies;
import org.cloister.coordinator.strategy.Strategy;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.coordinator.study.StudyStatusKind;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The round engine's deadlines, stragglers, retries, start grace and join timeout in virtual time:
 * nothing here waits for a real deadline; each step waits only until the engine thread has done
 * all it can at the current virtual time.
 */
class RoundEngineVirtualTimeTest {
  private static final String STUDY = "vt";
  private static final Duration SAFETY = Duration.ofSeconds(20); // a hung engine fails the test; never reached otherwise
  private static final Duration DEADLINE = Duration.ofMinutes(10);
  private final VirtualTime time = new VirtualTime(1_000_000);
  private final JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite::memory:");
  private RoundEngine engine;
  private Thread thread;

  private static ModelArtifact model0() {
    return ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setModelName("toy").setDimension(2)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(FloatCodec.encode(new float[2]))).build();
  }

  private static StudyConfig config(int minSites, int expected, Duration grace) {
    return new StudyConfig(STUDY, "toy", 2, 1, minSites, 0, DEADLINE, Duration.ofSeconds(20), 2,
        TrainingConfig.newBuilder().setLocalEpochs(1).build(), 1024, expected, grace, false);
  }

  private void start(StudyConfig cfg, String... sites) throws InterruptedException {
    engine = new RoundEngine(cfg, model0(), new FedAvgStrategy(),
        new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(2)), store, null, time, 1);
    for (String s : sites) {
      engine.join(s, 5);
    }
    thread = new Thread(engine, "round-engine");
    thread.start();
    settle();
  }

  /** Until the engine waits for a moment still ahead in virtual time (or has ended). */
  private void settle() throws InterruptedException {
    assertThat(time.awaitBlocked(thread, SAFETY) || !thread.isAlive()).as("engine blocked in virtual time").isTrue();
  }

  private void advance(Duration d) throws InterruptedException {
    time.advance(d);
    settle();
  }

  private RoundTask task(String site) throws InterruptedException {
    RoundEngine.Poll p = engine.pollTask(site, 0);
    assertThat(p).as("task for " + site).isInstanceOf(RoundEngine.Poll.Task.class);
    return ((RoundEngine.Poll.Task) p).task();
  }

  private void answer(String site) throws InterruptedException {
    RoundTask t = task(site);
    engine.submit(site, null, UpdateEnvelope.newBuilder().setStudyId(STUDY).setRound(t.getRound())
        .setRoundId(t.getRoundId()).setBaseModelVersion(t.getModel().getVersion()).setNumExamples(5)
        .setPayloadFormat(FloatCodec.DELTA_F32LE).setPayload(ByteString.copyFrom(FloatCodec.encode(new float[] {1f, 2f})))
        .build());
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (thread != null) {
      engine.stop();
      thread.join(SAFETY.toMillis());
    }
  }

  @Test
  void aStragglerIsLeftOutExactlyAtTheDeadline() throws Exception {
    start(config(2, 3, Duration.ZERO), "A", "B", "C");
    answer("A");
    answer("B");
    settle();
    advance(DEADLINE.minusMillis(1));
    assertThat(engine.history()).isEmpty();
    assertThat(engine.pollTask("C", 0)).isInstanceOf(RoundEngine.Poll.Task.class); // C could still answer
    advance(Duration.ofMillis(1));
    assertThat(engine.awaitEnd(SAFETY)).isTrue();
    RoundResult r = engine.history().get(0);
    assertThat(r.quorumMet()).isTrue();
    assertThat(r.aggregated()).containsExactly("A", "B");
    assertThat(r.rejected()).containsOnlyKeys("C");
    assertThat(r.rejected().get("C")).contains("no update before the deadline");
    assertThat(r.durationMillis()).isEqualTo(DEADLINE.toMillis());
  }

  @Test
  void aRoundWithoutQuorumIsRetriedWithANewIdThenTheStudyPauses() throws Exception {
    start(config(2, 2, Duration.ZERO), "A", "B");
    answer("A");
    settle();
    advance(DEADLINE);
    answer("A"); // attempt 2
    settle();
    advance(DEADLINE);
    assertThat(engine.awaitEnd(SAFETY)).isTrue();
    assertThat(engine.status()).isEqualTo(StudyStatusKind.PAUSED);
    assertThat(engine.statusDetail()).contains("quorum of 2 not met after 2 attempts");
    assertThat(engine.history()).hasSize(2).noneMatch(RoundResult::quorumMet);
    assertThat(engine.history().get(0).roundId()).isNotEqualTo(engine.history().get(1).roundId());
    assertThat(engine.history()).extracting(RoundResult::attempt).containsExactly(1, 2);
  }

  @Test
  void theStudyPausesWhenTooFewSitesJoinBeforeTheJoinTimeout() throws Exception {
    start(config(2, 2, Duration.ZERO), "A");
    assertThat(engine.status()).isEqualTo(StudyStatusKind.WAITING_FOR_SITES);
    advance(Duration.ofSeconds(20).minusMillis(1));
    assertThat(engine.status()).isEqualTo(StudyStatusKind.WAITING_FOR_SITES);
    advance(Duration.ofMillis(1));
    assertThat(engine.awaitEnd(SAFETY)).isTrue();
    assertThat(engine.statusDetail()).contains("only 1 of 2 required sites available after 20 s");
  }

  @Test
  void withAQuorumTheEngineWaitsTheStartGraceForTheExpectedSites() throws Exception {
    start(config(2, 3, Duration.ofSeconds(2)), "A", "B");
    advance(Duration.ofMillis(1999));
    assertThat(engine.pollTask("A", 0)).isInstanceOf(RoundEngine.Poll.Idle.class);
    advance(Duration.ofMillis(1));
    assertThat(task("A").getRound()).isEqualTo(1);
  }

  @Test
  void aSiteJoiningDuringTheGraceStartsTheRoundAtOnce() throws Exception {
    start(config(2, 3, Duration.ofSeconds(2)), "A", "B");
    engine.join("C", 5);
    settle();
    assertThat(task("C").getRound()).isEqualTo(1);
  }

  /** A site whose answer was lost resends the same envelope: acknowledged, counted once; a different one is refused. */
  @Test
  void anIdenticalResubmissionIsAcknowledgedOnceAndADifferentOneRefused() throws Exception {
    start(config(2, 2, Duration.ZERO), "A", "B");
    RoundTask t = task("A");
    UpdateEnvelope env = UpdateEnvelope.newBuilder().setStudyId(STUDY).setRound(t.getRound()).setRoundId(t.getRoundId())
        .setBaseModelVersion(t.getModel().getVersion()).setNumExamples(5).setPayloadFormat(FloatCodec.DELTA_F32LE)
        .setPayload(ByteString.copyFrom(FloatCodec.encode(new float[] {1f, 2f}))).build();
    engine.submit("A", null, env);
    engine.submit("A", null, env); // used to be refused as "replayed" (ALREADY_EXISTS)
    assertThatThrownBy(() -> engine.submit("A", null, env.toBuilder().setNumExamples(6).build()))
        .isInstanceOfSatisfying(RequestRejectedException.class, e -> assertThat(e.metricReason()).isEqualTo("replayed"));
    answer("B");
    assertThat(engine.awaitEnd(SAFETY)).isTrue();
    RoundResult r = engine.history().get(0);
    assertThat(r.aggregated()).containsExactly("A", "B");
  }

  private static org.cloister.protocol.v1.EvaluationRelease release(long version) {
    return org.cloister.protocol.v1.EvaluationRelease.newBuilder().setLayout(1).setModelVersion(version).setClasses(2)
        .setBins(10).addAllCounts(java.util.Collections.nCopies(20, 5.0)).setNoiseStddev(2.0).build();
  }

  /** Issue 18: after the last round the sites score the final model (no training); the record says who did not. */
  @Test
  void afterTheLastRoundTheSitesScoreTheFinalModelOnceAndTheRecordNamesWhoDidNot() throws Exception {
    TrainingConfig training = TrainingConfig.newBuilder().setLocalEpochs(1).setEvaluation(
        org.cloister.protocol.v1.EvaluationConfig.newBuilder().setNoiseMultiplier(2.0).setBins(10).setClasses(2)).build();
    start(new StudyConfig(STUDY, "toy", 2, 1, 2, 0, DEADLINE, Duration.ofSeconds(20), 2, training, 1024, 2, Duration.ZERO,
        false), "A", "B");
    for (String site : new String[] {"A", "B"}) {
      RoundTask t = task(site);
      assertThat(t.getFinalEvaluation()).isFalse();
      engine.submit(site, null, UpdateEnvelope.newBuilder().setStudyId(STUDY).setRound(1).setRoundId(t.getRoundId())
          .setBaseModelVersion(1).setNumExamples(5).setPayloadFormat(FloatCodec.DELTA_F32LE)
          .setPayload(ByteString.copyFrom(FloatCodec.encode(new float[] {1f, 2f}))).setEvaluation(release(1)).build());
    }
    settle();
    RoundTask last = task("A");
    assertThat(last.getFinalEvaluation()).isTrue();
    assertThat(last.getModel().getVersion()).isEqualTo(2); // the final model, published by round 1
    assertThat(last.getRoundId()).startsWith(RoundResult.FINAL_EVALUATION_PREFIX);
    assertThat(engine.status()).isEqualTo(StudyStatusKind.RUNNING);
    assertThat(engine.statusDetail()).isEqualTo("final evaluation of model version 2");
    assertThat(engine.currentRound()).isEqualTo(1); // one round of one: the evaluation is no round
    UpdateEnvelope answer = UpdateEnvelope.newBuilder().setStudyId(STUDY).setRound(last.getRound())
        .setRoundId(last.getRoundId()).setBaseModelVersion(2).setNumExamples(5).setEvaluation(release(2)).build();
    assertThatThrownBy(() -> engine.submit("A", null, answer.toBuilder().setPayload(ByteString.copyFromUtf8("x")).build()))
        .isInstanceOfSatisfying(RequestRejectedException.class, e -> assertThat(e.metricReason()).isEqualTo("not_evaluation"));
    assertThatThrownBy(() -> engine.submit("A", null, answer.toBuilder().clearEvaluation().build()))
        .isInstanceOfSatisfying(RequestRejectedException.class, e -> assertThat(e.metricReason()).isEqualTo("bad_evaluation"));
    assertThatThrownBy(() -> engine.submit("A", null, answer.toBuilder().setEvaluation(release(1)).build()))
        .isInstanceOfSatisfying(RequestRejectedException.class, e -> assertThat(e.metricReason()).isEqualTo("bad_evaluation"));
    engine.submit("A", null, answer);
    settle();
    advance(DEADLINE); // B never answers
    assertThat(engine.awaitEnd(SAFETY)).isTrue();
    assertThat(engine.status()).isEqualTo(StudyStatusKind.FINISHED);
    assertThat(engine.statusDetail()).isEqualTo("1 rounds completed");
    RoundResult fin = engine.history().get(engine.history().size() - 1);
    assertThat(fin.finalEvaluation()).isTrue();
    assertThat(fin.quorumMet()).isFalse();
    assertThat(fin.modelVersion()).isEqualTo(2);
    assertThat(fin.evaluation().sites()).isEqualTo(1);
    assertThat(fin.evaluation().modelVersion()).isEqualTo(2);
    assertThat(fin.rejected()).containsOnlyKeys("B");
    assertThat(engine.history()).hasSize(2);
    assertThat(engine.history().get(0).evaluation().modelVersion()).isEqualTo(1);
    assertThat(store.rounds(STUDY)).hasSize(2).last().matches(RoundResult::finalEvaluation);
    assertThat(engine.pollTask("B", 0)).isInstanceOf(RoundEngine.Poll.Finished.class);
    assertThat(engine.pollTask("B", 0)).isEqualTo(new RoundEngine.Poll.Finished(1, 2, "finished"));
  }

  @Test
  void theFingerprintIsACanonicalEncodingOfTheStudyIncludingItsStrategy() {
    StudyConfig cfg = config(2, 3, Duration.ZERO);
    Strategy fedavg = Strategies.parse("fedavg");
    assertThat(RoundEngine.fingerprint(cfg, fedavg))
        .isEqualTo(RoundEngine.fingerprint(config(2, 3, Duration.ZERO), new FedAvgStrategy())).hasSize(64);
    assertThat(RoundEngine.fingerprint(cfg, Strategies.parse("fedadam"))).isNotEqualTo(RoundEngine.fingerprint(cfg, fedavg));
    assertThat(RoundEngine.fingerprint(cfg, Strategies.parse("fedavg:server_lr=0.5")))
        .isNotEqualTo(RoundEngine.fingerprint(cfg, fedavg));
    StudyConfig otherTraining = new StudyConfig(STUDY, "toy", 2, 1, 2, 0, DEADLINE, Duration.ofSeconds(20), 2,
        TrainingConfig.newBuilder().setLocalEpochs(2).build(), 1024, 3, Duration.ZERO, false);
    assertThat(RoundEngine.fingerprint(otherTraining, fedavg)).isNotEqualTo(RoundEngine.fingerprint(cfg, fedavg));

    // a database is not resumed under another strategy (the strategy used to be outside the fingerprint)
    new RoundEngine(cfg, model0(), fedavg, new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(2)), store, null, time, 1);
    assertThatThrownBy(() -> new RoundEngine(cfg, model0(), Strategies.parse("median"),
        new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(2)), store, null, time, 1))
        .hasMessageContaining("different configuration");
  }
}

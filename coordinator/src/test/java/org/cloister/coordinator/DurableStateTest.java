package org.cloister.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.coordinator.aggregation.PlaintextFedAvgAggregator;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.coordinator.strategy.FedAvgStrategy;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.coordinator.study.StudyStatusKind;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.TrainingConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinator's SQLite state: committed rounds and models survive closing and reopening. */
class DurableStateTest {

  private static ModelArtifact model(long version, float... w) {
    byte[] p = FloatCodec.encode(w);
    return ModelArtifact.newBuilder().setStudyId("s").setVersion(version).setDimension(w.length)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(p)).build();
  }

  private static StudyConfig config(int rounds) {
    return new StudyConfig("s", "toy", 2, rounds, 1, 0, Duration.ofSeconds(5), Duration.ofSeconds(5), 1,
        TrainingConfig.getDefaultInstance(), 1024, 0, Duration.ZERO, false);
  }

  @Test
  void committedRoundsAndModelsSurviveReopening(@TempDir Path dir) {
    String url = "jdbc:sqlite:" + dir.resolve("c.db");
    RoundResult r1 = new RoundResult(1, "rid-1", 1, List.of("a", "b"), List.of("a"), Map.of("b", "not_finite: x"),
        2, true, Map.of("a", Map.of("epsilon", 0.5)), 10, Map.of());
    try (StudyStore store = new JdbcStudyStore(url)) {
      StudyStore.StudyState fresh = store.openStudy("s", "fp", model(1, 0f, 0f));
      assertThat(fresh.rounds()).isEmpty();
      store.saveSite("s", "a", 10);
      store.commitRound("s", r1, model(2, 1f, 2f), List.of());
    }
    try (StudyStore store = new JdbcStudyStore(url)) {
      StudyStore.StudyState again = store.openStudy("s", "fp", model(1, 0f, 0f));
      assertThat(again.rounds()).containsExactly(r1);
      assertThat(again.latestModel().getVersion()).isEqualTo(2);
      assertThat(FloatCodec.decode(again.latestModel().getPayload(), 2)).containsExactly(1f, 2f);
      assertThat(again.sites()).containsEntry("a", 10L);
      assertThat(store.model("s", 1)).isPresent();
      assertThatThrownBy(() -> store.openStudy("s", "other-fingerprint-xyz", model(1, 0f, 0f)))
          .hasMessageContaining("different configuration");
    }
  }

  @Test
  void aRoundIsCommittedWithItsModelOrNotAtAll(@TempDir Path dir) {
    String url = "jdbc:sqlite:" + dir.resolve("c.db");
    try (StudyStore store = new JdbcStudyStore(url)) {
      store.openStudy("s", "fp", model(1, 0f, 0f));
      RoundResult r1 = new RoundResult(1, "rid-1", 1, List.of("a"), List.of("a"), Map.of(), 2, true, Map.of(), 1, Map.of());
      store.commitRound("s", r1, model(2, 1f, 1f), List.of());
      // the same round id again (a replay of the commit) violates the unique key: nothing of it is kept
      assertThatThrownBy(() -> store.commitRound("s", r1, model(3, 9f, 9f), List.of())).hasMessageContaining("cannot commit round 1");
      assertThat(store.model("s", 3)).isEmpty();
      assertThat(store.openStudy("s", "fp", model(1, 0f, 0f)).latestModel().getVersion()).isEqualTo(2);
    }
  }

  @Test
  void aRestartedEngineResumesAfterTheLastCommittedRound(@TempDir Path dir) throws Exception {
    String url = "jdbc:sqlite:" + dir.resolve("c.db");
    StudyConfig cfg = config(3);
    try (StudyStore store = new JdbcStudyStore(url)) {
      store.openStudy("s", fingerprintOf(cfg), model(1, 0f, 0f));
      store.commitRound("s", new RoundResult(1, "r1", 1, List.of("a"), List.of("a"), Map.of(), 2, true, Map.of(), 1, Map.of()), model(2, 1f, 0f), List.of());
      store.commitRound("s", new RoundResult(2, "r2", 1, List.of("a"), List.of("a"), Map.of(), 3, true, Map.of(), 1, Map.of()), model(3, 2f, 0f), List.of());
    }
    try (StudyStore store = new JdbcStudyStore(url)) {
      RoundEngine engine = new RoundEngine(cfg, model(1, 0f, 0f), new FedAvgStrategy(),
          new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(2)), store, Clock.systemUTC(), 1);
      assertThat(engine.history()).hasSize(2);
      assertThat(engine.model(0).orElseThrow().getVersion()).isEqualTo(3);
      assertThat(engine.currentRound()).isEqualTo(2); // next to run is round 3
      assertThat(engine.status()).isNotEqualTo(StudyStatusKind.FINISHED);
      assertThat(engine.model(2)).isPresent(); // older versions come from the database
    }
  }

  private static String fingerprintOf(StudyConfig cfg) throws Exception {
    var m = RoundEngine.class.getDeclaredMethod("fingerprint", StudyConfig.class, org.cloister.coordinator.strategy.Strategy.class);
    m.setAccessible(true);
    return (String) m.invoke(null, cfg, new FedAvgStrategy());
  }
}

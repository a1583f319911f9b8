package org.cloister.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.cloister.coordinator.ledger.LedgerRecord;
import org.cloister.coordinator.rounds.RoundResult;
import org.junit.jupiter.api.Test;

/**
 * What every {@link JdbcStudyStore} backend must do, run against SQLite ({@link SqliteStudyStoreTest})
 * and a real PostgreSQL server ({@link PostgresStudyStoreTest}).
 */
abstract class StudyStoreContract {

  /** The JDBC URL of a new, empty database. */
  abstract String newDatabaseUrl() throws Exception;

  @Test
  void aStudyLifeIsReadBackWholeByAReopenedStore() throws Exception {
    String url = newDatabaseUrl();
    StoreScenario sc = new StoreScenario();
    try (JdbcStudyStore store = new JdbcStudyStore(url, sc.checkpointSigner())) {
      assertThat(store.database().schemaVersion()).isEqualTo(1);
      sc.populate(store);
    }
    try (JdbcStudyStore store = new JdbcStudyStore(url)) {
      StoreScenario.verify(store, sc.ca.certificate());
      StoreScenario.verifyCheckpoints(store, sc.ca.certificate());
    }
  }

  @Test
  void aRoundItsModelItsLedgerEntriesAndItsReceiptCommitTogetherOrNotAtAll() throws Exception {
    String url = newDatabaseUrl();
    StoreScenario sc = new StoreScenario();
    try (JdbcStudyStore store = new JdbcStudyStore(url, sc.checkpointSigner())) {
      sc.populate(store);
      List<StudyStore.LedgerEntry> ledgerBefore = store.ledger(STUDY_ID);
      Map<String, StudyStore.SpendStatus> statusesBefore = store.spendStatuses(STUDY_ID);
      // round 4: its spends are chained and its receipt written before its model, whose version 2
      // already exists: the failure comes last, and nothing of the round may stay
      RoundResult r4 = new RoundResult(4, "rid-4", 1, List.of("A", "B"), List.of("A", "B"), Map.of(), 2, true, Map.of(), 5, Map.of());
      List<LedgerRecord> spends = List.of(StoreScenario.spend(sc.siteA, "A", 4, "rid-4", 1.5),
          StoreScenario.spend(sc.siteB, "B", 4, "rid-4", 1.5));
      assertThatThrownBy(() -> store.commitRound(STUDY_ID, r4, StoreScenario.model(2, 5f, 5f), spends, new byte[] {9}))
          .isInstanceOf(StoreException.class).hasMessageContaining("cannot commit round 4 of " + STUDY_ID);
      assertThat(store.ledger(STUDY_ID)).usingRecursiveFieldByFieldElementComparator().isEqualTo(ledgerBefore);
      assertThat(store.spendStatuses(STUDY_ID)).isEqualTo(statusesBefore);
      assertThat(store.rounds(STUDY_ID)).extracting(RoundResult::round).containsExactly(1, 2);
      assertThat(store.receipts(STUDY_ID)).hasSize(1);
      assertThat(store.checkpoints(STUDY_ID)).hasSize(2);
      assertThat(store.model(STUDY_ID, 2)).contains(StoreScenario.model(2, 1f, 2f));
      // and the store goes on: the same round with a new model version commits, chained after the head
      store.commitRound(STUDY_ID, r4, StoreScenario.model(3, 5f, 5f), spends, new byte[] {9});
      List<StudyStore.LedgerEntry> after = store.ledger(STUDY_ID);
      assertThat(after).hasSize(ledgerBefore.size() + 2);
      assertThat(after.get(ledgerBefore.size()).previousHash()).isEqualTo(ledgerBefore.get(ledgerBefore.size() - 1).hash());
      assertThat(store.checkpoints(STUDY_ID)).extracting(StudyStore.Checkpoint::rounds).containsExactly(1, 2, 3);
    }
  }

  @Test
  void aSpendIsChainedOnceWhateverItsReplays() throws Exception {
    StoreScenario sc = new StoreScenario();
    try (JdbcStudyStore store = new JdbcStudyStore(newDatabaseUrl())) {
      store.openStudy(STUDY_ID, "fp", StoreScenario.model(1, 0f));
      LedgerRecord first = StoreScenario.spend(sc.siteA, "A", 1, "rid-1", 0.5);
      assertThat(store.recordSpend(STUDY_ID, first, "received", "")).isTrue();
      assertThat(store.recordSpend(STUDY_ID, first, "received", "")).isFalse();
      // a second, different spend for the same round: the first stays, the ledger does not grow
      LedgerRecord second = StoreScenario.spend(sc.siteA, "A", 1, "rid-1", 0.1);
      assertThat(store.recordSpend(STUDY_ID, second, "received", "")).isFalse();
      assertThat(store.ledger(STUDY_ID)).singleElement().satisfies(e -> assertThat(e.spend()).isEqualTo(first.spendBytes()));
      // an outcome once given is kept; only a spend still in flight gets a new one
      store.recordSpend(STUDY_ID, first, "rejected", "late");
      store.recordSpend(STUDY_ID, first, "aggregated", "");
      assertThat(store.spendStatuses(STUDY_ID).get("A/rid-1").status()).isEqualTo("rejected");
    }
  }

  @Test
  void aStudyReopenedWithAnotherConfigurationIsRefused() throws Exception {
    String url = newDatabaseUrl();
    try (JdbcStudyStore store = new JdbcStudyStore(url)) {
      store.openStudy(STUDY_ID, "fingerprint-one", StoreScenario.model(1, 0f));
    }
    try (JdbcStudyStore store = new JdbcStudyStore(url)) {
      assertThatThrownBy(() -> store.openStudy(STUDY_ID, "fingerprint-two", StoreScenario.model(1, 0f)))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("different configuration");
      assertThat(store.studyStatus(STUDY_ID)).isEqualTo("created");
    }
  }

  @Test
  void reopeningRunsNoMigrationTwice() throws Exception {
    String url = newDatabaseUrl();
    try (JdbcStudyStore store = new JdbcStudyStore(url)) {
      store.openStudy(STUDY_ID, "fp", StoreScenario.model(1, 0f));
    }
    try (JdbcStudyStore store = new JdbcStudyStore(url)) {
      assertThat(store.database().schemaVersion()).isEqualTo(1);
      assertThat(store.studies()).containsExactly(STUDY_ID);
    }
  }

  private static final String STUDY_ID = StoreScenario.STUDY;
}

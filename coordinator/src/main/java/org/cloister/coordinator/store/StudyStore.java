package org.cloister.coordinator.store;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.cloister.coordinator.ledger.LedgerRecord;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.protocol.v1.ModelArtifact;

/**
 * Durable state of the coordinator: studies, round results, model versions (opaque artifacts) and
 * the site registry. A round's result and its new model are committed in one transaction, so a
 * coordinator killed at any moment restarts from the last committed round.
 */
public interface StudyStore extends AutoCloseable {

  /** What a restarted coordinator reloads. */
  record StudyState(String status, String statusDetail, List<RoundResult> rounds, ModelArtifact latestModel,
                    Map<String, Long> sites) {
    public StudyState {
      rounds = List.copyOf(rounds);
      sites = Map.copyOf(sites);
    }
  }

  /**
   * Creates the study with its initial model, or reopens it. Reopening checks that the study's
   * configuration is the one it was created with.
   *
   * @throws IllegalStateException when the stored fingerprint differs
   */
  StudyState openStudy(String studyId, String configFingerprint, ModelArtifact initialModel);

  /** Records a site's registration (idempotent; the example count is updated). */
  void saveSite(String studyId, String siteId, long numExamples);

  /**
   * Atomically records a round's result, its new model when the round aggregated, and the
   * round's privacy-ledger entries (those not yet recorded are chained after the study's last
   * entry; each spend's status becomes "aggregated" or "rejected" with the round's reason), and,
   * when the store has a checkpoint signer, a signed checkpoint of the ledger head.
   *
   * @param newModel the new model, or null when the round did not reach quorum
   */
  default void commitRound(String studyId, RoundResult result, ModelArtifact newModel, List<LedgerRecord> spends) {
    commitRound(studyId, result, newModel, spends, null);
  }

  /**
   * As {@link #commitRound(String, RoundResult, ModelArtifact, List)}, with the enclave's signed
   * receipt for the new model (a {@code SignedReceipt}'s bytes) stored in the same transaction.
   *
   * @param receipt null when there is none (no new model, or plaintext aggregation)
   */
  void commitRound(String studyId, RoundResult result, ModelArtifact newModel, List<LedgerRecord> spends,
                   byte[] receipt);

  /** A stored aggregation receipt: the round it came with and the {@code SignedReceipt} bytes. */
  record StoredReceipt(int round, String roundId, long modelVersion, byte[] signedReceipt) {
  }

  /** The study's aggregation receipts in commit order. */
  default List<StoredReceipt> receipts(String studyId) {
    return List.of();
  }

  /**
   * Durably records a verified signed spend the moment it is received, whatever then happens to
   * its update, with a status ({@code received}, {@code rejected}, {@code reconciled}, ...) and a
   * reason beside it. Idempotent: a spend already recorded for the same party and round is kept
   * and only its status is updated.
   *
   * @return true when the spend was new to the ledger
   */
  boolean recordSpend(String studyId, LedgerRecord spend, String status, String reason);

  /**
   * Gives every spend still {@code received} (its round never committed, e.g. the coordinator
   * stopped mid-round) the status {@code rejected} with {@code reason}; the entries stay in the
   * ledger and keep counting.
   *
   * @return how many spends were updated
   */
  int closeInFlightSpends(String studyId, String reason);

  /** What happened to each recorded spend, by "party/round_id". */
  Map<String, SpendStatus> spendStatuses(String studyId);

  /** The status beside a ledger entry (not part of the signed chain: the coordinator's own account). */
  record SpendStatus(String partyId, String roundId, String status, String reason) {
  }

  /** The signed ledger-head checkpoints of a study, oldest first. */
  List<Checkpoint> checkpoints(String studyId);

  /** A stored checkpoint: the serialized {@code LedgerCheckpoint}, its signature and the signer's certificate (DER). */
  record Checkpoint(int rounds, byte[] checkpoint, byte[] signature, byte[] signerCertificate) {
  }

  /** Study ids in the store, oldest first. */
  List<String> studies();

  /** The study's round results in the order they were committed. */
  List<RoundResult> rounds(String studyId);

  /** The study's privacy ledger in chain order. */
  List<LedgerEntry> ledger(String studyId);

  /** A stored ledger entry with its place in the chain. */
  record LedgerEntry(long seq, String partyId, int round, String roundId, byte[] spend, byte[] signature,
                     byte[] signerCertificate, byte[] previousHash, byte[] hash) {
  }

  void saveStatus(String studyId, String status, String detail);

  Optional<ModelArtifact> model(String studyId, long version);

  @Override
  void close();
}

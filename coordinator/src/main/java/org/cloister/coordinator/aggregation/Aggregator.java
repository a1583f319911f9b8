package org.cloister.coordinator.aggregation;

import java.util.List;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.protocol.v1.ModelArtifact;

/**
 * Turns a round's updates into the next global model. The coordinator hands it opaque envelopes
 * and gets back an opaque artifact: in production the implementation is the secure aggregator
 * enclave, and the coordinator never sees plaintext.
 */
public interface Aggregator {

  /**
   * Aggregates {@code updates} onto {@code current}.
   *
   * @return the new model and the per-site outcome (rejected updates do not fail the round)
   */
  AggregationResult aggregate(String roundId, int round, ModelArtifact current, List<ReceivedUpdate> updates);

  /**
   * The round engine accepted {@code update} for the open round {@code roundId}, before the round
   * closes: an implementation may start work on it early (the enclave's streams it to the enclave
   * while other sites are still sending). Must not block. Every update passed here is in the list of
   * the same round's {@link #aggregate} call if that call comes; otherwise {@link #abandoned} is
   * called for the round.
   */
  default void accepted(String roundId, int round, ModelArtifact current, ReceivedUpdate update) {
  }

  /** The round {@code roundId} closed without an {@link #aggregate} call: drop any early work for it. */
  default void abandoned(String roundId) {
  }
}

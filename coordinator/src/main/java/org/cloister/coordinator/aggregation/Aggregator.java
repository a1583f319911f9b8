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
}

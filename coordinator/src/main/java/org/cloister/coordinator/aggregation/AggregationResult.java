package org.cloister.coordinator.aggregation;

import java.util.List;
import java.util.Map;
import org.cloister.protocol.v1.SignedReceipt;
import org.cloister.protocol.v1.ModelArtifact;

/**
 * The aggregator's answer: the new model (absent when nothing valid was received), which sites'
 * updates went into it, and which were rejected with a reason that names no values.
 */
public record AggregationResult(ModelArtifact model, List<String> aggregated, Map<String, String> rejected,
                                SignedReceipt receipt) {
  public AggregationResult {
    aggregated = List.copyOf(aggregated);
    rejected = Map.copyOf(rejected);
  }

  /** A result without a signed receipt (plaintext aggregation, or nothing published). */
  public AggregationResult(ModelArtifact model, List<String> aggregated, Map<String, String> rejected) {
    this(model, aggregated, rejected, null);
  }
}

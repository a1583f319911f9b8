package org.cloister.simulations.spark;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.cloister.coordinator.aggregation.AggregationResult;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.simulations.engine.KernelAggregator;

/**
 * The driver's aggregator for the spark engine: the round's sum arrives from the executors already
 * combined ({@link PartialSum}, tree-aggregated); the round engine hands over the envelopes it
 * accepted (signed spends, recorded in the ledger; payload: a digest of the update). The published
 * model is the enclave's last steps ({@link KernelAggregator#publish}) on that sum. A site whose
 * update is in the sum must be one the round engine accepted: otherwise the round fails (the sum
 * cannot be taken apart on the driver).
 */
final class SparkAggregator implements Aggregator {
  /** The payload a spark-engine envelope carries: SHA-256 of the site's f32le delta (the update stays in the partition sum). */
  static final String PAYLOAD_FORMAT = "sha256-of-f32le-delta";

  private final KernelAggregator kernel;
  private final Map<String, PartialSum> sums = new ConcurrentHashMap<>();

  SparkAggregator(KernelAggregator kernel) {
    this.kernel = kernel;
  }

  /** The combined partition sums of round {@code roundId}, before its envelopes are submitted. */
  void summed(String roundId, PartialSum sum) {
    sums.put(roundId, sum);
  }

  @Override
  public AggregationResult aggregate(String roundId, int round, ModelArtifact current, List<ReceivedUpdate> updates) {
    PartialSum sum = sums.remove(roundId);
    if (sum == null) {
      throw new IllegalStateException("round " + round + ": the executors' sum for this round is missing");
    }
    Set<String> received = new HashSet<>();
    Map<String, String> rejected = new LinkedHashMap<>();
    for (ReceivedUpdate u : updates) {
      received.add(u.siteId());
      if (!PAYLOAD_FORMAT.equals(u.envelope().getPayloadFormat())) {
        throw new IllegalStateException("round " + round + ": site " + u.siteId() + " sent payload format '"
            + u.envelope().getPayloadFormat() + "', not " + PAYLOAD_FORMAT);
      }
      String why = sum.rejected.get(u.siteId());
      if (why != null) {
        rejected.put(u.siteId(), why);
      } else if (!sum.accepted.contains(u.siteId())) {
        throw new IllegalStateException("round " + round + ": site " + u.siteId() + " is not in the executors' sum");
      }
    }
    for (String s : sum.accepted) {
      if (!received.contains(s)) {
        throw new IllegalStateException("round " + round + ": site " + s + "'s update is in the executors' sum but the"
            + " coordinator did not accept it; the sum cannot be taken apart, so the round is not published");
      }
    }
    if (sum.accepted.isEmpty()) {
      return kernel.publish(current, new float[kernel.dimension()], 0, List.of(), rejected);
    }
    return kernel.publish(current, sum.sum, sum.weight, sum.accepted, rejected);
  }

  @Override
  public void abandoned(String roundId) {
    sums.remove(roundId);
  }
}

package org.cloister.site.agent;

import java.util.Map;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.NonPrivateEvent;

/**
 * The result of one round of local training.
 *
 * @param delta        local weights minus the global weights the round started from
 * @param numExamples  weight of the update in aggregation
 * @param metrics      aggregate, non-identifying figures (local loss, clip fraction)
 * @param spent        the DP mechanism this round ran on the site's data ({@link NonPrivateEvent} when none)
 * @param epsilonAfter the site's cumulative epsilon after this round at its delta ({@code +Infinity} when non-private)
 */
public record LocalUpdate(float[] delta, long numExamples, Map<String, Double> metrics, DpEvent spent, double epsilonAfter) {
  public LocalUpdate {
    metrics = Map.copyOf(metrics);
    java.util.Objects.requireNonNull(spent, "spent");
  }

  /** A non-private update: no guarantee, infinite epsilon. */
  public static LocalUpdate nonPrivate(float[] delta, long numExamples, Map<String, Double> metrics) {
    return new LocalUpdate(delta, numExamples, metrics, new NonPrivateEvent(), Double.POSITIVE_INFINITY);
  }
}

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
 * @param evaluation   the site's noised evaluation of the round's base model on its held-out split, whose event is
 *                     part of {@code spent}; null when the site did not evaluate
 */
public record LocalUpdate(float[] delta, long numExamples, Map<String, Double> metrics, DpEvent spent, double epsilonAfter,
                          org.cloister.protocol.v1.EvaluationRelease evaluation) {
  public LocalUpdate {
    metrics = Map.copyOf(metrics);
    java.util.Objects.requireNonNull(spent, "spent");
  }

  public LocalUpdate(float[] delta, long numExamples, Map<String, Double> metrics, DpEvent spent, double epsilonAfter) {
    this(delta, numExamples, metrics, spent, epsilonAfter, null);
  }

  /** A non-private update: no guarantee, infinite epsilon. */
  public static LocalUpdate nonPrivate(float[] delta, long numExamples, Map<String, Double> metrics) {
    return new LocalUpdate(delta, numExamples, metrics, new NonPrivateEvent(), Double.POSITIVE_INFINITY);
  }
}

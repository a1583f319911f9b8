package org.cloister.site.agent;

import java.util.Map;

/**
 * The result of one round of local training.
 *
 * @param delta       local weights minus the global weights the round started from
 * @param numExamples weight of the update in aggregation
 * @param metrics     aggregate, non-identifying figures (local loss, epsilon spent, clip fraction)
 */
public record LocalUpdate(float[] delta, long numExamples, Map<String, Double> metrics) {
  public LocalUpdate {
    metrics = Map.copyOf(metrics);
  }
}

package org.cloister.aggregation;

/**
 * One site's model update (the difference between its locally trained weights and the global
 * weights it started from) and its aggregation weight (usually its number of training examples).
 */
public record WeightedUpdate(String siteId, float[] delta, double weight) {
  public WeightedUpdate {
    if (!(weight > 0) || !Double.isFinite(weight)) {
      throw new IllegalArgumentException("weight of " + siteId + " must be positive and finite, got " + weight);
    }
  }
}

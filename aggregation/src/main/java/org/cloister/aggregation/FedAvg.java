package org.cloister.aggregation;

import java.util.List;

/**
 * Weighted federated averaging (McMahan et al. 2017): the new global weights are the old ones
 * plus the weighted mean of the sites' deltas, each weighted by its example count.
 */
public final class FedAvg {
  private FedAvg() {
  }

  /** Weighted mean of the deltas, accumulated in double precision. */
  public static float[] weightedMeanDelta(int dimension, List<WeightedUpdate> updates) {
    if (updates.isEmpty()) {
      throw new IllegalArgumentException("no updates to aggregate");
    }
    double[] acc = new double[dimension];
    double total = 0;
    for (WeightedUpdate u : updates) {
      if (u.delta().length != dimension) {
        throw new UpdateRejectedException(RejectReason.WRONG_DIMENSION,
            "update of " + u.siteId() + " has " + u.delta().length + " parameters, expected " + dimension);
      }
      total += u.weight();
    }
    for (WeightedUpdate u : updates) {
      double w = u.weight() / total;
      float[] d = u.delta();
      for (int i = 0; i < dimension; i++) {
        acc[i] += w * d[i];
      }
    }
    float[] out = new float[dimension];
    for (int i = 0; i < dimension; i++) {
      out[i] = (float) acc[i];
    }
    return out;
  }

  /** {@code global + weightedMeanDelta(updates)}. */
  public static float[] apply(float[] global, List<WeightedUpdate> updates) {
    float[] mean = weightedMeanDelta(global.length, updates);
    float[] out = new float[global.length];
    for (int i = 0; i < global.length; i++) {
      out[i] = global[i] + mean[i];
    }
    return out;
  }
}

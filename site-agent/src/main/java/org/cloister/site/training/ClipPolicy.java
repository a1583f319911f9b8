package org.cloister.site.training;

import java.util.Arrays;

/**
 * How per-example gradients are clipped: one threshold over all parameters (flat), or one per
 * parametrized layer (per-layer). The sensitivity of the clipped sum is the flat threshold, or
 * sqrt(sum C_l^2) per layer, and sets the noise scale.
 */
record ClipPolicy(boolean perLayer, double[] thresholds) {
  ClipPolicy {
    thresholds = thresholds.clone();
    if (thresholds.length == 0) {
      throw new IllegalArgumentException("at least one clipping threshold is needed");
    }
    for (double c : thresholds) {
      if (!(c > 0) || Double.isInfinite(c)) {
        throw new IllegalArgumentException("clipping thresholds must be positive and finite, got " + Arrays.toString(thresholds));
      }
    }
    if (!perLayer && thresholds.length != 1) {
      throw new IllegalArgumentException("flat clipping takes one threshold");
    }
  }

  static ClipPolicy flat(double c) {
    return new ClipPolicy(false, new double[] {c});
  }

  /** L2 sensitivity of one example's clipped contribution. */
  double sensitivity() {
    double s = 0;
    for (double c : thresholds) {
      s += c * c;
    }
    return Math.sqrt(s);
  }

  @Override
  public double[] thresholds() {
    return thresholds.clone();
  }

  double threshold(int parametrizedLayer) {
    return perLayer ? thresholds[parametrizedLayer] : thresholds[0];
  }

  @Override
  public String toString() {
    return perLayer ? "per-layer " + Arrays.toString(thresholds) : "flat " + thresholds[0];
  }
}

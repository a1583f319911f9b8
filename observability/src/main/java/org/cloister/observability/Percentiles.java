package org.cloister.observability;

import java.util.Collection;
import org.HdrHistogram.DoubleHistogram;

/**
 * Medians and percentiles of benchmark samples (times, rates, ratios), from HdrHistogram's
 * {@link DoubleHistogram} at 5 significant digits: the value at or below which {@code pct} percent
 * of the samples lie (for an even number of samples, the lower middle one, not an average).
 */
public final class Percentiles {
  private static final int SIGNIFICANT_DIGITS = 5;

  private Percentiles() {
  }

  /** The median of {@code samples} (non-negative, finite, at least one). */
  public static double median(double... samples) {
    return percentile(samples, 50.0);
  }

  /** The median of {@code samples} (non-negative, finite, at least one). */
  public static double median(Collection<Double> samples) {
    return median(samples.stream().mapToDouble(Double::doubleValue).toArray());
  }

  /** The {@code pct}-th percentile (0..100) of {@code samples} (non-negative, finite, at least one). */
  public static double percentile(double[] samples, double pct) {
    if (samples.length == 0) {
      throw new IllegalArgumentException("no samples to take a percentile of");
    }
    if (!(pct >= 0 && pct <= 100)) {
      throw new IllegalArgumentException("percentile must be in [0, 100], got " + pct);
    }
    DoubleHistogram h = new DoubleHistogram(SIGNIFICANT_DIGITS);
    for (double v : samples) {
      if (!(v >= 0) || Double.isInfinite(v)) {
        throw new IllegalArgumentException("benchmark samples must be finite and non-negative, got " + v);
      }
      h.recordValue(v);
    }
    return h.getValueAtPercentile(pct);
  }
}

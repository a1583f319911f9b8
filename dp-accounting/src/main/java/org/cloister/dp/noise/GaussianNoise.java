package org.cloister.dp.noise;

/**
 * A source of Gaussian noise for differential privacy. Implementations must be driven by a
 * cryptographically secure generator in production (see {@code SecureGaussianNoise}).
 */
public interface GaussianNoise {

  /** One standard normal sample. */
  double nextStandard();

  /** Adds N(0, stddev^2) independently to every coordinate of {@code target}. */
  default void addTo(float[] target, double stddev) {
    for (int i = 0; i < target.length; i++) {
      target[i] += (float) (stddev * nextStandard());
    }
  }

  /** Adds N(0, stddev^2) independently to every coordinate of {@code target}. */
  default void addTo(double[] target, double stddev) {
    for (int i = 0; i < target.length; i++) {
      target[i] += stddev * nextStandard();
    }
  }
}

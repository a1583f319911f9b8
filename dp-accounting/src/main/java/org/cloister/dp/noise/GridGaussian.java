package org.cloister.dp.noise;

import java.math.BigDecimal;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * The Gaussian mechanism released on a grid, with exact integer noise: for a vector {@code x}
 * of {@code d} coordinates whose L2 sensitivity is {@code C}, the release is
 * <pre>  y_i = gamma * (clamp(round(x_i / gamma)) + k_i),   k_i ~ N_Z(0, s^2) exactly</pre>
 * with {@code gamma} a power of two. Every output is {@code gamma} times an integer that depends on
 * {@code x} only through the integer {@code round(x_i / gamma)}: no bit of {@code x} below the grid
 * reaches the output, and the set of possible outputs is the grid {@code gamma * Z} whatever
 * {@code x} is (for a {@code float[]} target, the floats that are integer multiples of gamma; see
 * below).
 *
 * <h2>Grid</h2>
 * {@code gamma = 2^(ceil(log2(sigma C)) - 36)}, so the noise in grid units has standard deviation
 * {@code s} of about 2^35-2^36. The grid integers are clamped to {@code |round(x/gamma)| <= 2^52}
 * (at least 65536 sigma C; clamping is 1-Lipschitz, so it does not increase sensitivity) and the
 * noised integer to {@code |m| <= 2^53} (post-processing), so {@code gamma * m} is exact in double.
 * A {@code float[]} target receives {@code (float) (gamma * m)}: a function of m alone, hence
 * post-processing; floats at or above 2^24 gamma in magnitude are all multiples of gamma, so the
 * set of possible float outputs is exactly the floats that are integer multiples of gamma.
 *
 * <h2>Accounting (what the guarantee is)</h2>
 * Rounding to the grid moves each coordinate by at most gamma/2, so the grid integers have L2
 * sensitivity at most {@code Delta = C/gamma + ceil(sqrt(d))} (in grid units). The noise variance is
 * {@code s^2 = (sigma Delta)^2 + S2^2} with {@code S2 = 4}. Consider the ideal mechanism: the
 * continuous Gaussian {@code Y = round(x/gamma) + N(0, (sigma Delta)^2 I)} followed by a discrete
 * Gaussian of variance {@code S2^2} centred at each real {@code Y_i} (post-processing). It is the
 * Gaussian mechanism with noise multiplier exactly {@code sigma}, so the accountants' figures for
 * {@code Gaussian(sigma)} (and {@code PoissonSampled(q, Gaussian(sigma))}) hold for it. By Poisson
 * summation its output law differs from {@code round(x/gamma) + N_Z(0, s^2)} (what we sample) by at
 * most {@link #TOTAL_VARIATION_PER_COORDINATE} in total variation per coordinate (the periodic
 * correction {@code 2 sum_m exp(-2 pi^2 S2^2 m^2)}). Over {@code T} releases of {@code d}
 * coordinates the transcripts differ by at most {@code T d} times that, so an (epsilon, delta)
 * guarantee of the ideal mechanism holds for the real one with
 * {@code delta + (1 + e^epsilon) T d tau} ({@link #discretisationDelta}): below 1e-90 for any
 * {@code T d < 2^63} and {@code epsilon <= 50}.
 */
public final class GridGaussian {

  /** gamma = 2^(ceil(log2(sigma C)) - RESOLUTION_BITS). */
  public static final int RESOLUTION_BITS = 36;
  /** The standard deviation (grid units) of the smoothing part of the noise. */
  public static final int SMOOTHING_STDDEV = 4;
  /**
   * Upper bound on the total variation, per coordinate, between the sampled release and the ideal
   * mechanism: 2.01 exp(-2 pi^2 * 16) = 1.4e-137, rounded up.
   */
  public static final double TOTAL_VARIATION_PER_COORDINATE = 2e-137;

  private static final double GRID_BOUND = 0x1.0p52;
  private static final long OUTPUT_BOUND = 1L << 53;

  private final double gamma;
  private final double noiseMultiplier;
  private final double sensitivity;
  private final long dimension;
  private final DiscreteGaussian noise;
  private final double gridStddev;

  /**
   * @param noiseMultiplier sigma (> 0): the accounted noise multiplier
   * @param sensitivity     C (> 0): the L2 sensitivity of the vectors to be released
   * @param dimension       d: the number of coordinates of every released vector
   */
  public GridGaussian(double noiseMultiplier, double sensitivity, long dimension) {
    if (!(noiseMultiplier > 0) || Double.isInfinite(noiseMultiplier)) {
      throw new IllegalArgumentException("noise multiplier must be positive and finite, got " + noiseMultiplier);
    }
    if (!(sensitivity > 0) || Double.isInfinite(sensitivity)) {
      throw new IllegalArgumentException("sensitivity must be positive and finite, got " + sensitivity);
    }
    if (dimension < 1) {
      throw new IllegalArgumentException("dimension must be >= 1, got " + dimension);
    }
    double stddev = noiseMultiplier * sensitivity;
    if (!(stddev >= 0x1.0p-900) || Double.isInfinite(stddev)) {
      throw new IllegalArgumentException("noise standard deviation sigma*C = " + stddev + " is out of range");
    }
    this.noiseMultiplier = noiseMultiplier;
    this.sensitivity = sensitivity;
    this.dimension = dimension;
    this.gamma = granularity(stddev);
    long rootD = (long) Math.ceil(Math.sqrt((double) dimension));
    while (rootD * rootD < dimension) {
      rootD++;
    }
    // Delta = C/gamma + ceil(sqrt(d)) exactly (C/gamma is exact: gamma is a power of two)
    BigDecimal delta = new BigDecimal(sensitivity).divide(new BigDecimal(gamma)).add(BigDecimal.valueOf(rootD));
    BigDecimal sd = new BigDecimal(noiseMultiplier).multiply(delta);
    BigDecimal variance = sd.multiply(sd).add(BigDecimal.valueOf((long) SMOOTHING_STDDEV * SMOOTHING_STDDEV));
    this.noise = DiscreteGaussian.ofVariance(variance);
    this.gridStddev = Math.sqrt(variance.doubleValue());
  }

  /** The grid step gamma for noise of standard deviation {@code stddev} (a power of two). */
  public static double granularity(double stddev) {
    int e = Math.getExponent(stddev);
    boolean pow2 = stddev == Math.scalb(1.0, e);
    return Math.scalb(1.0, e + (pow2 ? 0 : 1) - RESOLUTION_BITS);
  }

  public double gamma() {
    return gamma;
  }

  public double noiseMultiplier() {
    return noiseMultiplier;
  }

  public double sensitivity() {
    return sensitivity;
  }

  public long dimension() {
    return dimension;
  }

  /** The noise's standard deviation in grid units (s). */
  public double gridStddev() {
    return gridStddev;
  }

  /** The noise's standard deviation in the values' units (s * gamma, slightly above sigma C). */
  public double stddev() {
    return gridStddev * gamma;
  }

  /**
   * The delta to add to an (epsilon, delta) guarantee computed for Gaussian(sigma) after
   * {@code releases} releases of {@code coordinates} coordinates each: (1 + e^eps) T d tau.
   */
  public static double discretisationDelta(long coordinates, long releases, double epsilon) {
    if (coordinates < 0 || releases < 0 || !(epsilon >= 0)) {
      throw new IllegalArgumentException("coordinates, releases and epsilon must be >= 0");
    }
    if (coordinates == 0 || releases == 0) {
      return Double.MIN_VALUE;
    }
    // in log space: log(1 + e^eps) + log(T) + log(d) + log(tau), then rounded up
    double log = epsilon + Math.log1p(Math.exp(-epsilon)) + Math.log((double) coordinates) + Math.log((double) releases)
        + Math.log(TOTAL_VARIATION_PER_COORDINATE);
    return Math.nextUp(Math.exp(log) * (1 + 1e-12));
  }

  /** Replaces every {@code x[i]} by its noised release on the grid (see the class comment). */
  public void release(double[] x, RandomGenerator bits) {
    checkLength(x.length);
    Objects.requireNonNull(bits, "bits");
    for (int i = 0; i < x.length; i++) {
      x[i] = gamma * noisedInteger(x[i], i, bits);
    }
  }

  /** The float version: {@code (float) (gamma * m)}, a function of the noised integer only. */
  public void release(float[] x, RandomGenerator bits) {
    checkLength(x.length);
    Objects.requireNonNull(bits, "bits");
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (gamma * noisedInteger(x[i], i, bits));
    }
  }

  /** The grid integer of {@code value}: round(value / gamma), clamped to +-2^52. */
  public long gridInteger(double value) {
    double g = Math.rint(value / gamma);
    if (g > GRID_BOUND) {
      g = GRID_BOUND;
    } else if (g < -GRID_BOUND) {
      g = -GRID_BOUND;
    }
    return (long) g;
  }

  private long noisedInteger(double value, int index, RandomGenerator bits) {
    if (!Double.isFinite(value)) {
      throw new IllegalArgumentException("cannot release a non-finite value (coordinate " + index + ")");
    }
    long m = gridInteger(value) + noise.sample(bits);
    return Math.max(-OUTPUT_BOUND, Math.min(OUTPUT_BOUND, m));
  }

  private void checkLength(int length) {
    if (length != dimension) {
      throw new IllegalArgumentException("this grid mechanism releases vectors of " + dimension
          + " coordinates (its sensitivity accounting depends on it), got " + length);
    }
  }

  @Override
  public String toString() {
    return "GridGaussian[sigma=" + noiseMultiplier + ", C=" + sensitivity + ", d=" + dimension + ", gamma=2^"
        + Math.getExponent(gamma) + "]";
  }
}

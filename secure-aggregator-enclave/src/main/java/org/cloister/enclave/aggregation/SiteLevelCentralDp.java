package org.cloister.enclave.aggregation;

import java.util.Arrays;
import java.util.Objects;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import java.util.random.RandomGenerator;
import org.cloister.dp.noise.GaussianNoise;
import org.cloister.dp.noise.GridGaussian;
import org.cloister.enclave.AggregationPolicy;

/**
 * Site-level central DP inside the enclave (see {@link AggregationPolicy.CentralDp}): each accepted
 * update is clipped to L2 norm S, the clipped updates are summed with equal weights, and the release
 * is {@code (sum + N(0, (zS)^2)) / W} with z, S and the public denominator W fixed by the measured
 * policy. Neither the noise scale nor the denominator depends on which sites took part or on their
 * (host-supplied) example counts, so every release is the Gaussian mechanism with noise multiplier z
 * under adding or removing one site ({@link #event()}).
 *
 * <p>Floating point: the release must not carry any bit of the sum below the noise's resolution
 * (adding a snapped noise to a double sum would leak {@code sum mod gamma}, exactly the DP-SGD bug of
 * issue 12). So each clipped contribution is rounded to the grid of {@link GridGaussian} for noise
 * z*S (gamma a power of two) and the grid integers are summed exactly in {@code long}; the release
 * is {@code gamma * (sum + k)} with {@code k} exact discrete Gaussian noise ({@link GridGaussian}).
 * Rounding each contribution moves it by at most gamma/2 per coordinate, so one site moves the
 * integer sum by at most {@code S/gamma + sqrt(d)/2} grid units, within the sensitivity
 * {@code S/gamma + ceil(sqrt d)} that {@link GridGaussian}'s accounting as {@code Gaussian(z)} covers
 * (its discretisation delta, below 1e-90, is documented there). The clip factor is
 * {@code S / ||u||} shrunk by {@value #CLIP_MARGIN} relative, which keeps each clipped contribution's
 * norm at most S despite the rounding of the norm and the products.
 *
 * <p>Not thread-safe; one instance per round.
 */
public final class SiteLevelCentralDp {
  /** Relative safety margin on the clip factor. */
  static final double CLIP_MARGIN = 1e-9;

  private final AggregationPolicy.CentralDp spec;
  private final GridGaussian grid;
  private final long[] gridSum;
  private int contributions;

  public SiteLevelCentralDp(AggregationPolicy.CentralDp spec, int dimension) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.grid = new GridGaussian(spec.noiseMultiplier(), spec.clipNorm(), dimension);
    this.gridSum = new long[dimension];
  }

  /**
   * Adds one validated (finite) update held as little-endian float32 bytes, clipped to norm S and
   * rounded to the grid.
   *
   * @param sumOfSquares the update's exact sum of squares (finite)
   */
  public void add(byte[] values, int off, double sumOfSquares) {
    if (!(sumOfSquares >= 0) || Double.isInfinite(sumOfSquares)) {
      throw new IllegalArgumentException("sum of squares must be finite and >= 0");
    }
    double scale = clipFactor(Math.sqrt(sumOfSquares));
    for (int i = 0; i < gridSum.length; i++) {
      // |grid integer| <= S/gamma + 1 < 2^37 per site: the long sum is exact for any realistic cohort
      gridSum[i] += grid.gridInteger(scale * ScalarKernel.get(values, off + i * Float.BYTES));
    }
    contributions++;
  }

  /** The factor an update of norm {@code norm} is multiplied by: 1 within S, else S/norm minus the margin. */
  double clipFactor(double norm) {
    double s = spec.clipNorm();
    return norm <= s * (1 - CLIP_MARGIN) ? 1.0 : s / norm * (1 - CLIP_MARGIN);
  }

  /** Number of updates added. */
  public int contributions() {
    return contributions;
  }

  /** The grid step gamma of the release. */
  public double gamma() {
    return grid.gamma();
  }

  /** The exact sum of the clipped contributions in grid units (a copy; for tests of the sensitivity). */
  long[] gridSum() {
    return gridSum.clone();
  }

  /**
   * The released mean update {@code gamma * (sum + k) / W}; wipes the sum.
   *
   * @param noise the source of random bits: a {@link RandomGenerator} (in production
   *     {@code SecureGaussianNoise}, AES-CTR from OS entropy). Any other source is refused: only the
   *     exact grid release carries the guarantee.
   */
  public double[] release(GaussianNoise noise) {
    Objects.requireNonNull(noise, "central DP needs a source of random bits");
    if (!(noise instanceof RandomGenerator bits)) {
      throw new IllegalArgumentException("central DP releases on the grid with exact discrete Gaussian noise and needs "
          + "a RandomGenerator source of bits (SecureGaussianNoise), got " + noise.getClass().getName());
    }
    double[] out = new double[gridSum.length];
    double gamma = grid.gamma();
    for (int i = 0; i < out.length; i++) {
      out[i] = gamma * gridSum[i]; // exact: |gridSum| < 2^53 and gamma is a power of two
    }
    Arrays.fill(gridSum, 0);
    grid.release(out, bits); // re-reads the same integers (exact) and adds the discrete noise
    double w = spec.denominator();
    for (int i = 0; i < out.length; i++) {
      out[i] /= w; // post-processing of the released integers
    }
    return out;
  }

  /** Standard deviation of the noise on the released mean: z * S / W, the same for every accepted set. */
  public double meanNoiseStddev() {
    return spec.meanNoiseStddev();
  }

  /** What one release spends, per site: the Gaussian mechanism with noise multiplier z (sensitivity S). */
  public DpEvent event() {
    return new GaussianEvent(spec.noiseMultiplier());
  }

  /** Zeroes the running sum. */
  public void wipe() {
    Arrays.fill(gridSum, 0);
  }
}

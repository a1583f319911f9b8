package org.cloister.enclave.aggregation;

import java.util.Arrays;
import java.util.Objects;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.noise.GaussianNoise;
import org.cloister.enclave.AggregationPolicy;

/**
 * Site-level central DP inside the enclave (see {@link AggregationPolicy.CentralDp}): each accepted
 * update is clipped to L2 norm S, the clipped updates are summed with equal weights in double
 * precision, and the release is {@code (sum + N(0, (zS)^2)) / W} with z, S and the public
 * denominator W fixed by the measured policy. Neither the noise scale nor the denominator depends on
 * which sites took part or on their (host-supplied) example counts, so every release is the Gaussian
 * mechanism with noise multiplier z under adding or removing one site ({@link #event()}).
 *
 * <p>Floating point: the clip factor is {@code S / ||u||} shrunk by {@value #CLIP_MARGIN} relative,
 * which keeps each clipped contribution's norm at most S despite the rounding of the norm and the
 * products (each within a few ulps, ~1e-16 relative); the sum is accumulated in double and noised by
 * the snapping {@code SecureGaussianNoise}, whose output grid does not depend on the sum.
 *
 * <p>Not thread-safe; one instance per round.
 */
public final class SiteLevelCentralDp {
  /** Relative safety margin on the clip factor. */
  static final double CLIP_MARGIN = 1e-9;

  private final AggregationPolicy.CentralDp spec;
  private final double[] sum;
  private int contributions;

  public SiteLevelCentralDp(AggregationPolicy.CentralDp spec, int dimension) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.sum = new double[dimension];
  }

  /**
   * Adds one validated (finite) update held as little-endian float32 bytes, clipped to norm S.
   *
   * @param sumOfSquares the update's exact sum of squares (finite)
   */
  public void add(byte[] values, int off, double sumOfSquares) {
    if (!(sumOfSquares >= 0) || Double.isInfinite(sumOfSquares)) {
      throw new IllegalArgumentException("sum of squares must be finite and >= 0");
    }
    double scale = clipFactor(Math.sqrt(sumOfSquares));
    for (int i = 0; i < sum.length; i++) {
      sum[i] += scale * ScalarKernel.get(values, off + i * Float.BYTES);
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

  /**
   * The released mean update {@code (sum + N(0, (zS)^2)) / W}; wipes the sum.
   *
   * @param noise a cryptographically secure, snapping source in production ({@code SecureGaussianNoise})
   */
  public double[] release(GaussianNoise noise) {
    Objects.requireNonNull(noise, "central DP needs a Gaussian noise source");
    double[] out = sum.clone();
    Arrays.fill(sum, 0);
    noise.addTo(out, spec.noiseMultiplier() * spec.clipNorm());
    double w = spec.denominator();
    for (int i = 0; i < out.length; i++) {
      out[i] /= w;
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
    Arrays.fill(sum, 0);
  }
}

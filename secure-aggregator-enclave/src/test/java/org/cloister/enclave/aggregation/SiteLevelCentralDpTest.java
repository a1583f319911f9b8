package org.cloister.enclave.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.noise.GaussianNoise;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.protocol.FloatCodec;
import org.junit.jupiter.api.Test;

class SiteLevelCentralDpTest {
  private static final GaussianNoise ZERO = () -> 0.0; // shows the clipped sum itself
  private static final int DIM = 257;

  private static byte[] bytes(float[] v) {
    return FloatCodec.encode(v);
  }

  private static double squares(float[] v) {
    double s = 0;
    for (float x : v) {
      s += (double) x * x;
    }
    return s;
  }

  /** The clipped sum as the enclave holds it (on the grid, before noise), divided by W. */
  private static double[] release(AggregationPolicy.CentralDp spec, float[]... updates) {
    SiteLevelCentralDp dp = new SiteLevelCentralDp(spec, DIM);
    for (float[] u : updates) {
      dp.add(bytes(u), 0, squares(u));
    }
    long[] grid = dp.gridSum();
    double[] out = new double[DIM];
    for (int i = 0; i < DIM; i++) {
      out[i] = grid[i] * dp.gamma() / spec.denominator();
    }
    return out;
  }

  /**
   * The release is on the grid and no bit of the sum below it reaches the output: for the same
   * random bits, two sums that round to the same grid integers give bit-identical releases. The old
   * release (sum + snapped noise in double) fails both.
   */
  @Test
  void theReleaseIsOnTheGridAndCarriesNoBitOfTheSumBelowIt() {
    AggregationPolicy.CentralDp spec = new AggregationPolicy.CentralDp(1.0, 1.0, 1, 5, 1e-5);
    float[] u = new float[DIM];
    float[] v = new float[DIM];
    Random rnd = new Random(3);
    for (int i = 0; i < DIM; i++) {
      u[i] = (float) Math.scalb((double) (rnd.nextInt(2001) - 1000), -30); // on the grid (gamma = 2^-36 here)
      v[i] = Math.nextUp(u[i]); // at most 2^-43 away: far below half a grid step
    }
    SiteLevelCentralDp a = new SiteLevelCentralDp(spec, DIM);
    SiteLevelCentralDp b = new SiteLevelCentralDp(spec, DIM);
    a.add(bytes(u), 0, squares(u));
    b.add(bytes(v), 0, squares(v));
    double gamma = a.gamma();
    assertThat(Math.getExponent(gamma)).isEqualTo(Math.getExponent(org.cloister.dp.noise.GridGaussian.granularity(1.0)));
    double[] ra = a.release(org.cloister.dp.noise.SecureGaussianNoise.seeded(7));
    double[] rb = b.release(org.cloister.dp.noise.SecureGaussianNoise.seeded(7));
    boolean differs = false;
    for (int i = 0; i < DIM; i++) {
      double units = ra[i] * spec.denominator() / gamma;
      assertThat(units).as("coordinate %d on the grid", i).isEqualTo(Math.rint(units));
      differs |= u[i] != v[i];
    }
    assertThat(differs).isTrue();
    assertThat(ra).containsExactly(rb);
  }

  @Test
  void aNoiseSourceWithoutRandomBitsIsRefused() {
    SiteLevelCentralDp dp = new SiteLevelCentralDp(new AggregationPolicy.CentralDp(1.0, 1.0, 1, 5, 1e-5), DIM);
    assertThatThrownBy(() -> dp.release(ZERO)).hasMessageContaining("RandomGenerator");
  }

  @Test
  void addingAnyOneSiteMovesTheSumByAtMostTheClipNorm() {
    AggregationPolicy.CentralDp spec = new AggregationPolicy.CentralDp(0.7, 1.0, 3, 5, 1e-5);
    Random rnd = new Random(5);
    float[][] honest = new float[3][DIM];
    for (float[] h : honest) {
      for (int i = 0; i < DIM; i++) {
        h[i] = (float) (rnd.nextGaussian() * 0.1);
      }
    }
    double[] without = release(spec, honest);
    // adversarial updates: enormous, tiny-but-many-large-coordinates, exactly at the bound, mixed signs
    float[] huge = new float[DIM];
    java.util.Arrays.fill(huge, Float.MAX_VALUE / 1e3f);
    float[] atBound = new float[DIM];
    atBound[3] = 0.7f;
    float[] mixed = new float[DIM];
    for (int i = 0; i < DIM; i++) {
      mixed[i] = (float) (i % 2 == 0 ? 1e20 : -3e-20) * (1 + rnd.nextFloat());
    }
    for (float[] adversary : new float[][] {huge, atBound, mixed}) {
      double[] with = release(spec, honest[0], honest[1], adversary, honest[2]);
      double d2 = 0;
      for (int i = 0; i < DIM; i++) {
        double d = (with[i] - without[i]) * spec.denominator();
        d2 += d * d;
      }
      // in grid units: S/gamma plus half a unit of rounding per coordinate (what GridGaussian accounts for)
      double gamma = new SiteLevelCentralDp(spec, DIM).gamma();
      assertThat(Math.sqrt(d2)).isLessThanOrEqualTo(spec.clipNorm() + Math.sqrt(DIM) * gamma / 2);
    }
  }

  @Test
  void anUpdateWithinTheBoundIsNotScaledAndTheEventIsTheGaussianMechanismAtTheSiteLevel() {
    AggregationPolicy.CentralDp spec = new AggregationPolicy.CentralDp(2.0, 1.3, 2, 5, 1e-5);
    float[] u = new float[DIM];
    u[0] = 1f;
    u[1] = -1f;
    double[] out = release(spec, u);
    double gamma = new SiteLevelCentralDp(spec, DIM).gamma();
    assertThat(out[0]).isCloseTo(0.5, org.assertj.core.api.Assertions.within(gamma));
    assertThat(out[1]).isCloseTo(-0.5, org.assertj.core.api.Assertions.within(gamma));
    assertThat(new SiteLevelCentralDp(spec, DIM).event()).isEqualTo(new GaussianEvent(1.3));
    assertThat(new SiteLevelCentralDp(spec, DIM).meanNoiseStddev()).isEqualTo(1.3 * 2.0 / 2);
  }

  @Test
  void aNonFiniteSumOfSquaresIsRefused() {
    SiteLevelCentralDp dp = new SiteLevelCentralDp(new AggregationPolicy.CentralDp(1, 1, 1, 1, 1e-5), DIM);
    assertThatThrownBy(() -> dp.add(new byte[DIM * 4], 0, Double.NaN)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void thePolicyRefusesCentralDpWithoutNoiseOrWithAZeroDenominator() {
    assertThatThrownBy(() -> new AggregationPolicy.CentralDp(1, 0, 3, 5, 1e-5))
        .hasMessageContaining("central_dp.noise_multiplier");
    assertThatThrownBy(() -> new AggregationPolicy.CentralDp(1, 1, 0, 5, 1e-5)).hasMessageContaining("central_dp.denominator");
    assertThatThrownBy(() -> new AggregationPolicy.CentralDp(1, 1, 3, 0, 1e-5)).hasMessageContaining("central_dp.max_releases");
  }
}

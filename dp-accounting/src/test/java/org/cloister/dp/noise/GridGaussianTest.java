package org.cloister.dp.noise;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GridGaussianTest {

  private static final int D = 2000;

  /** Inputs with arbitrary low bits (far finer than the grid) and varied magnitudes. */
  private static double[] input(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    double[] x = new double[D];
    for (int i = 0; i < D; i++) {
      x[i] = r.nextDouble(-1, 1) * Math.scalb(1.0, r.nextInt(-30, 8));
    }
    return x;
  }

  @Test
  void forAFixedNoiseDrawTheOutputIsTheGridIntegerPlusTheSameNoiseWhateverTheInput() {
    GridGaussian g = new GridGaussian(1.3, 0.7, D);
    double gamma = g.gamma();
    double[] zero = new double[D];
    g.release(zero, SecureGaussianNoise.seeded(5));
    for (long seed = 1; seed <= 5; seed++) {
      double[] x = input(seed);
      double[] y = x.clone();
      g.release(y, SecureGaussianNoise.seeded(5));
      for (int i = 0; i < D; i++) {
        double m = y[i] / gamma;
        assertThat(m).as("coordinate %d on the grid", i).isEqualTo(Math.rint(m));
        // the output depends on x only through round(x / gamma)
        assertThat((long) m - (long) (zero[i] / gamma)).isEqualTo(g.gridInteger(x[i]));
      }
    }
  }

  @Test
  void floatTargetsReceiveTheFloatOfTheSameGridValue() {
    GridGaussian g = new GridGaussian(2.0, 1.0, D);
    double gamma = g.gamma();
    for (long seed = 1; seed <= 3; seed++) {
      double[] xd = input(seed);
      float[] xf = new float[D];
      for (int i = 0; i < D; i++) {
        xf[i] = (float) xd[i];
        xd[i] = xf[i];
      }
      g.release(xd, SecureGaussianNoise.seeded(seed));
      g.release(xf, SecureGaussianNoise.seeded(seed));
      for (int i = 0; i < D; i++) {
        assertThat(xf[i]).isEqualTo((float) xd[i]);
        // every possible float output is an integer multiple of gamma
        assertThat((double) xf[i] / gamma).isEqualTo(Math.rint((double) xf[i] / gamma));
      }
    }
  }

  @Test
  void noiseHasTheAccountedScale() {
    GridGaussian g = new GridGaussian(1.0, 1.0, D);
    assertThat(g.stddev()).isGreaterThanOrEqualTo(1.0).isLessThan(1.0 + 1e-6);
    double[] x = new double[D];
    double sum = 0;
    double sq = 0;
    for (int rep = 0; rep < 50; rep++) {
      java.util.Arrays.fill(x, 0.25);
      g.release(x, SecureGaussianNoise.seeded(100 + rep));
      for (double v : x) {
        sum += v - 0.25;
        sq += (v - 0.25) * (v - 0.25);
      }
    }
    int n = 50 * D;
    assertThat(sum / n).isBetween(-5.0 / Math.sqrt(n), 5.0 / Math.sqrt(n));
    assertThat(sq / n).isBetween(1 - 5 * Math.sqrt(2.0 / n), 1 + 5 * Math.sqrt(2.0 / n));
  }

  @Test
  void discretisationDeltaIsNegligibleButCounted() {
    assertThat(GridGaussian.discretisationDelta(1L << 31, 1L << 31, 50)).isPositive().isLessThan(1e-90);
    assertThat(GridGaussian.discretisationDelta(0, 10, 1)).isPositive();
    assertThat(GridGaussian.discretisationDelta(1, 1, 1000)).isGreaterThan(1); // no guarantee at such epsilon
  }

  @Test
  void refusesBadInput() {
    GridGaussian g = new GridGaussian(1.0, 1.0, 3);
    assertThatThrownBy(() -> g.release(new double[] {0, Double.NaN, 0}, SecureGaussianNoise.seeded(1)))
        .hasMessageContaining("non-finite value (coordinate 1)");
    assertThatThrownBy(() -> g.release(new double[2], SecureGaussianNoise.seeded(1)))
        .hasMessageContaining("3 coordinates");
    assertThatThrownBy(() -> new GridGaussian(0, 1, 3)).hasMessageContaining("noise multiplier");
  }
}

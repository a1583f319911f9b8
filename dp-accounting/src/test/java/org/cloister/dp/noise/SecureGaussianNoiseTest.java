package org.cloister.dp.noise;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.stat.inference.ChiSquareTest;
import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;
import org.junit.jupiter.api.Test;

/**
 * Statistical tests at fixed seeds (deterministic). Thresholds are 5-sigma (or p > 1e-3) so a
 * correct sampler passes; each would catch a wrong variance, a biased or correlated stream, or
 * a broken ziggurat layer.
 */
class SecureGaussianNoiseTest {

  private static final int N = 400_000;

  private static double[] samples(long seed, int n) {
    SecureGaussianNoise noise = SecureGaussianNoise.seeded(seed);
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = noise.nextStandard();
    }
    return x;
  }

  @Test
  void zigguratTableMatchesMarsagliaTsang() {
    // Marsaglia & Tsang (2000), 256-layer constants: r = 3.6541528853610088, v = 4.92867323399e-3
    assertThat(Ziggurat.R).isCloseTo(3.6541528853610088, within(1e-14));
    assertThat(Ziggurat.V).isCloseTo(4.92867323399e-3, within(2e-14)); // published to 12 digits
    // every layer has area V, including the top one closing at x = 0
    for (int i = 1; i < Ziggurat.LAYERS; i++) {
      assertThat(Ziggurat.X[i] * (Ziggurat.F[i + 1] - Ziggurat.F[i])).isCloseTo(Ziggurat.V, within(Ziggurat.V * 1e-11));
    }
  }

  @Test
  void kolmogorovSmirnovAgainstStandardNormal() {
    double[] x = samples(20261121L, N);
    double p = new KolmogorovSmirnovTest().kolmogorovSmirnovTest(new NormalDistribution(null, 0, 1), x);
    assertThat(p).isGreaterThan(1e-3);
  }

  @Test
  void chiSquareOnEquiprobableBinsIncludingTails() {
    // 200 bins of equal N(0,1) probability; the outer bins test the ziggurat tail beyond r.
    int bins = 200;
    double[] x = samples(7L, N);
    NormalDistribution normal = new NormalDistribution(null, 0, 1);
    long[] observed = new long[bins];
    for (double v : x) {
      int b = (int) Math.min(bins - 1, Math.floor(normal.cumulativeProbability(v) * bins));
      observed[b]++;
    }
    double[] expected = new double[bins];
    java.util.Arrays.fill(expected, (double) N / bins);
    assertThat(new ChiSquareTest().chiSquareTest(expected, observed)).isGreaterThan(1e-3);
  }

  @Test
  void momentsAndFarTails() {
    double[] x = samples(99L, N);
    double mean = 0;
    double m2 = 0;
    double m4 = 0;
    int beyond3 = 0;
    int beyondR = 0;
    for (double v : x) {
      mean += v;
      m2 += v * v;
      m4 += v * v * v * v;
      beyond3 += Math.abs(v) > 3 ? 1 : 0;
      beyondR += Math.abs(v) > Ziggurat.R ? 1 : 0;
    }
    mean /= N;
    m2 /= N;
    m4 /= N;
    assertThat(mean).isCloseTo(0, within(5 / Math.sqrt(N)));
    assertThat(m2).isCloseTo(1, within(5 * Math.sqrt(2.0 / N)));
    assertThat(m4).isCloseTo(3, within(5 * Math.sqrt(96.0 / N))); // Var(Z^4) = 105 - 9 = 96
    // P(|Z| > 3) = 2.6997960632601866e-3; P(|Z| > 3.6541528853610088) = 2.5806e-4 (erfc)
    double p3 = 2.6997960632601866e-3;
    assertThat((double) beyond3).isCloseTo(N * p3, within(5 * Math.sqrt(N * p3)));
    double pr = org.cloister.dp.math.ErrorFunction.erfc(Ziggurat.R / Math.sqrt(2));
    assertThat((double) beyondR).isCloseTo(N * pr, within(5 * Math.sqrt(N * pr)));
  }

  @Test
  void consecutiveSamplesAreUncorrelated() {
    double[] x = samples(3L, N);
    double lag1 = 0;
    double lag2 = 0;
    double signs = 0;
    for (int i = 1; i < N; i++) {
      lag1 += x[i] * x[i - 1];
      signs += Math.signum(x[i]) * Math.signum(x[i - 1]);
      if (i > 1) {
        lag2 += x[i] * x[i - 2];
      }
    }
    double bound = 5 / Math.sqrt(N);
    assertThat(lag1 / N).isCloseTo(0, within(bound));
    assertThat(lag2 / N).isCloseTo(0, within(bound));
    assertThat(signs / N).isCloseTo(0, within(bound));
  }

  @Test
  void seededIsReproducibleAndSeedsDiffer() {
    assertThat(samples(42L, 1000)).containsExactly(samples(42L, 1000));
    assertThat(samples(42L, 16)).isNotEqualTo(samples(43L, 16));
  }

  @Test
  void osEntropyInstancesNeverRepeat() {
    SecureGaussianNoise a = SecureGaussianNoise.fromOsEntropy();
    SecureGaussianNoise b = SecureGaussianNoise.fromOsEntropy();
    double[] xa = new double[64];
    double[] xb = new double[64];
    for (int i = 0; i < 64; i++) {
      xa[i] = a.nextStandard();
      xb[i] = b.nextStandard();
    }
    assertThat(xa).isNotEqualTo(xb);
    assertThat(xa).isNotEqualTo(samples(0L, 64));
  }

  @Test
  void streamSurvivesRekeyingBetweenBuffers() {
    // 64 KiB buffers hold 8192 words: sample across many refills and check the variance there.
    double[] x = samples(11L, 50_000);
    double m2 = 0;
    for (int i = 8000; i < 50_000; i++) {
      m2 += x[i] * x[i];
    }
    assertThat(m2 / 42_000).isCloseTo(1, within(5 * Math.sqrt(2.0 / 42_000)));
  }

  @Test
  void releasedValuesLieOnAnInputIndependentGrid() {
    double sigma = 3.0;
    double gamma = SecureGaussianNoise.granularity(sigma);
    assertThat(gamma).isEqualTo(Math.scalb(1.0, 2 - 36)); // ceil(log2 3) = 2
    assertThat(SecureGaussianNoise.granularity(4.0)).isEqualTo(Math.scalb(1.0, 2 - 36));
    SecureGaussianNoise noise = SecureGaussianNoise.seeded(5);
    double[] values = {0.1, 1e-17, Math.PI, -123456.789, 0};
    double[] noised = values.clone();
    noise.addTo(noised, sigma);
    for (double v : noised) {
      double units = v / gamma;
      assertThat(units).isEqualTo(Math.rint(units)); // exactly on the grid
    }
  }

  @Test
  void addedNoiseHasTheRequestedVarianceForDoublesAndFloats() {
    SecureGaussianNoise noise = SecureGaussianNoise.seeded(8);
    double sigma = 0.37;
    double[] d = new double[N];
    java.util.Arrays.fill(d, 5.0);
    noise.addTo(d, sigma);
    float[] f = new float[N];
    java.util.Arrays.fill(f, -2.0f);
    noise.addTo(f, sigma);
    double md = 0;
    double vd = 0;
    double mf = 0;
    double vf = 0;
    for (int i = 0; i < N; i++) {
      md += d[i] - 5.0;
      vd += (d[i] - 5.0) * (d[i] - 5.0);
      mf += f[i] + 2.0;
      vf += (f[i] + 2.0) * (f[i] + 2.0);
    }
    assertThat(md / N).isCloseTo(0, within(5 * sigma / Math.sqrt(N)));
    assertThat(vd / N).isCloseTo(sigma * sigma, within(5 * sigma * sigma * Math.sqrt(2.0 / N)));
    assertThat(mf / N).isCloseTo(0, within(5 * sigma / Math.sqrt(N)));
    assertThat(vf / N).isCloseTo(sigma * sigma, within(5 * sigma * sigma * Math.sqrt(2.0 / N)));
  }

  @Test
  void hugeInputsAreClampedNotCorrupted() {
    SecureGaussianNoise noise = SecureGaussianNoise.seeded(9);
    double bound = 0x1.0p52 * SecureGaussianNoise.granularity(1.0); // 65536
    double y = noise.addTo(1e12, 1.0);
    assertThat(y).isCloseTo(bound, within(60.0));
    assertThat(noise.addTo(-1e300, 1.0)).isCloseTo(-bound, within(60.0));
  }

  @Test
  void badArgumentsAreNamed() {
    SecureGaussianNoise noise = SecureGaussianNoise.seeded(1);
    assertThatThrownBy(() -> noise.addTo(new double[1], -1)).hasMessageContaining("standard deviation must be a finite number >= 0, got -1");
    assertThatThrownBy(() -> noise.addTo(new double[1], Double.NaN)).hasMessageContaining("got NaN");
    assertThatThrownBy(() -> noise.addTo(new double[] {Double.NaN}, 1)).hasMessageContaining("NaN");
    double[] untouched = {1.5};
    noise.addTo(untouched, 0);
    assertThat(untouched[0]).isEqualTo(1.5);
  }
}

package org.cloister.dp.noise;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.SplittableRandom;
import org.apache.commons.math3.distribution.BinomialDistribution;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.stat.inference.ChiSquareTest;
import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;
import org.junit.jupiter.api.Test;

/**
 * The exact discrete Gaussian sampler against its exact pmf, at fixed seeds (deterministic).
 * Thresholds: p > 1e-3 or 5 binomial standard deviations.
 */
class DiscreteGaussianTest {

  /** The exact pmf of N_Z(0, v) on [-K, K] (mass beyond is below 1e-30 for K = 12 sqrt(v)). */
  private static double[] pmf(double v, int k) {
    double[] p = new double[2 * k + 1];
    double z = 0;
    for (int i = -k; i <= k; i++) {
      p[i + k] = Math.exp(-(double) i * i / (2 * v));
      z += p[i + k];
    }
    for (int i = 0; i < p.length; i++) {
      p[i] /= z;
    }
    return p;
  }

  @Test
  void chiSquareAgainstTheExactPmfForSmallAndMediumSigma() {
    for (double[] c : new double[][] {{10, 3}, {1, 1}, {1, 4}, {2500, 1}}) {
      double v = c[0] / c[1];
      DiscreteGaussian dg = new DiscreteGaussian(BigInteger.valueOf((long) c[0]), BigInteger.valueOf((long) c[1]));
      SecureGaussianNoise bits = SecureGaussianNoise.seeded(20201 + (long) c[0]);
      int k = (int) Math.ceil(6 * Math.sqrt(v));
      double[] p = pmf(v, k);
      int n = 400_000;
      long[] observed = new long[p.length];
      for (int i = 0; i < n; i++) {
        long s = dg.sample(bits);
        assertThat(Math.abs(s)).as("sample beyond 6 sigma in a 200k run").isLessThanOrEqualTo(k);
        observed[(int) s + k]++;
      }
      // merge cells with expected count < 5 into their neighbours towards the centre
      java.util.List<double[]> cells = new java.util.ArrayList<>();
      double e = 0;
      long o = 0;
      for (int i = 0; i < p.length; i++) {
        e += p[i] * n;
        o += observed[i];
        if (e >= 5 && (i < p.length / 2 || remaining(p, i + 1) * n >= 5)) {
          cells.add(new double[] {e, o});
          e = 0;
          o = 0;
        }
      }
      cells.get(cells.size() - 1)[0] += e;
      cells.get(cells.size() - 1)[1] += o;
      double[] exp = cells.stream().mapToDouble(x -> x[0]).toArray();
      long[] obs = cells.stream().mapToLong(x -> (long) x[1]).toArray();
      double pValue = new ChiSquareTest().chiSquareTest(exp, obs);
      assertThat(pValue).as("chi-square p for sigma^2 = %s", v).isGreaterThan(1e-3);
    }
  }

  private static double remaining(double[] p, int from) {
    double s = 0;
    for (int i = from; i < p.length; i++) {
      s += p[i];
    }
    return s;
  }

  @Test
  void atProductionScaleTheSamplesAreNormalAndUseEveryGridCell() {
    // sigma ~ 2^35.5 grid units, as in GridGaussian: KS against N(0, s^2), tail frequencies
    GridGaussian grid = new GridGaussian(1.0, 1.0, 100);
    double s = grid.gridStddev();
    DiscreteGaussian dg = DiscreteGaussian.ofVariance(new java.math.BigDecimal(s).multiply(new java.math.BigDecimal(s)));
    SecureGaussianNoise bits = SecureGaussianNoise.seeded(2020);
    int n = 300_000;
    double[] z = new double[n];
    long beyond3 = 0;
    long beyond4 = 0;
    long odd = 0;
    long oddTail = 0;
    for (int i = 0; i < n; i++) {
      long k = dg.sample(bits);
      z[i] = k / s;
      double a = Math.abs(z[i]);
      beyond3 += a > 3 ? 1 : 0;
      beyond4 += a > 4 ? 1 : 0;
      odd += k & 1;
      oddTail += a > 2.5 ? (k & 1) : 0;
    }
    double p = new KolmogorovSmirnovTest().kolmogorovSmirnovTest(new NormalDistribution(null, 0, 1), z);
    assertThat(p).isGreaterThan(1e-3);
    assertTail(beyond3, n, 2 * new NormalDistribution(null, 0, 1).cumulativeProbability(-3));
    assertTail(beyond4, n, 2 * new NormalDistribution(null, 0, 1).cumulativeProbability(-4));
    // the low bits are uniform: every grid cell is reachable, also in the tail
    assertTail(odd, n, 0.5);
    assertThat(oddTail).isPositive();
  }

  @Test
  void tailsBeyondSevenSigmaComeFromExactPieces() {
    // Beyond 7 sigma the mass (2.6e-12) cannot be counted; the sampler's tail is the product of
    // exact pieces, each tested here where its probability is measurable:
    // Bernoulli(exp(-g)) for g = 7.25 and g = 24.5 / 3.5 (rational, integer part looped)
    SplittableRandom r = new SplittableRandom(7);
    for (long[] g : new long[][] {{29, 4}, {7, 2}, {1, 3}}) {
      int n = 2_000_000;
      long hits = 0;
      for (int i = 0; i < n; i++) {
        hits += DiscreteGaussian.bernoulliExp(BigInteger.valueOf(g[0]), BigInteger.valueOf(g[1]), r) ? 1 : 0;
      }
      assertTail(hits, n, Math.exp(-(double) g[0] / g[1]));
    }
    // and the proposal's geometric tail: with sigma^2 = 1/4 (t = 1), P(|K| >= 2) = 2e^-8/Z
    DiscreteGaussian narrow = new DiscreteGaussian(BigInteger.ONE, BigInteger.valueOf(4));
    double[] p = pmf(0.25, 5);
    double tail = 1 - p[5] - p[4] - p[6];
    int n = 4_000_000;
    long hits = 0;
    for (int i = 0; i < n; i++) {
      hits += Math.abs(narrow.sample(r)) >= 2 ? 1 : 0;
    }
    assertTail(hits, n, tail); // 4 sigma in units of this sigma: 1.3e-3 of the mass
  }

  private static void assertTail(long hits, int n, double prob) {
    BinomialDistribution b = new BinomialDistribution(null, n, prob);
    double sd = Math.sqrt(b.getNumericalVariance());
    assertThat((double) hits).as("count with probability %s", prob)
        .isBetween(n * prob - 5 * sd - 1, n * prob + 5 * sd + 1);
  }

  @Test
  void uniformIntegersAreUnbiasedAndBelowTheBound() {
    SplittableRandom r = new SplittableRandom(3);
    BigInteger bound = BigInteger.ONE.shiftLeft(130).divide(BigInteger.valueOf(3)); // 129 bits
    int below = 0;
    for (int i = 0; i < 20_000; i++) {
      BigInteger u = DiscreteGaussian.uniform(bound, r);
      assertThat(u.signum()).isGreaterThanOrEqualTo(0);
      assertThat(u).isLessThan(bound);
      below += u.compareTo(bound.shiftRight(1)) < 0 ? 1 : 0;
    }
    assertTail(below, 20_000, 0.5);
  }

  @Test
  void refusesBadVariances() {
    assertThatThrownBy(() -> new DiscreteGaussian(BigInteger.ZERO, BigInteger.ONE))
        .hasMessageContaining("positive rational");
    assertThatThrownBy(() -> new DiscreteGaussian(BigInteger.ONE.shiftLeft(130), BigInteger.ONE))
        .hasMessageContaining("too large");
  }
}

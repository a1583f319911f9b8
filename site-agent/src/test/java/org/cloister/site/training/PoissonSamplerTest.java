package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.commons.math3.distribution.BinomialDistribution;
import org.apache.commons.math3.stat.inference.ChiSquareTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Batch sizes of Poisson sampling follow Binomial(n, q); inclusions are per example and independent. */
class PoissonSamplerTest {
  private static final int N = 60;
  private static final int DRAWS = 4000;

  /** Chi-square p-value of observed sizes against Binomial(n, q), tail bins merged to expected >= 5. */
  static double binomialFitPValue(int[] sizes, int n, double q) {
    BinomialDistribution bin = new BinomialDistribution(null, n, q);
    List<double[]> bins = new ArrayList<>(); // {expected, observed}
    long[] counts = new long[n + 1];
    for (int s : sizes) {
      counts[s]++;
    }
    double e = 0;
    double o = 0;
    for (int k = 0; k <= n; k++) {
      e += bin.probability(k) * sizes.length;
      o += counts[k];
      if (e >= 5 && (1 - bin.cumulativeProbability(k)) * sizes.length >= 5) {
        bins.add(new double[] {e, o});
        e = 0;
        o = 0;
      }
    }
    double[] last = bins.get(bins.size() - 1);
    last[0] += e;
    last[1] += o;
    double[] expected = new double[bins.size()];
    long[] observed = new long[bins.size()];
    for (int i = 0; i < bins.size(); i++) {
      expected[i] = bins.get(i)[0];
      observed[i] = (long) bins.get(i)[1];
    }
    return new ChiSquareTest().chiSquareTest(expected, observed);
  }

  @ParameterizedTest(name = "q={0}")
  @ValueSource(doubles = {0.05, 0.2, 0.5, 0.9}) // both the geometric-skip (q < 0.25) and the direct path
  void batchSizesAreBinomial(double q) {
    Random rng = new Random(7);
    int[] sizes = new int[DRAWS];
    long[] perExample = new long[N];
    long pair = 0;
    for (int d = 0; d < DRAWS; d++) {
      int[] s = PoissonSampler.sample(N, q, rng);
      sizes[d] = s.length;
      boolean has0 = false;
      boolean has1 = false;
      for (int i = 0; i < s.length; i++) {
        perExample[s[i]]++;
        has0 |= s[i] == 0;
        has1 |= s[i] == 1;
        if (i > 0) {
          assertThat(s[i]).isGreaterThan(s[i - 1]);
        }
      }
      if (has0 && has1) {
        pair++;
      }
    }
    assertThat(binomialFitPValue(sizes, N, q)).isGreaterThan(1e-3);
    double sd = Math.sqrt(DRAWS * q * (1 - q));
    for (long c : perExample) {
      assertThat(Math.abs(c - DRAWS * q)).isLessThan(5 * sd); // every example has probability q
    }
    double pairSd = Math.sqrt(DRAWS * q * q * (1 - q * q));
    assertThat(Math.abs(pair - DRAWS * q * q)).isLessThan(5 * pairSd); // independent inclusions
  }

  @Test
  void theTestRejectsFixedSizeBatches() {
    // shuffled fixed-size batches are a different mechanism: the same test must reject them
    int[] sizes = new int[DRAWS];
    java.util.Arrays.fill(sizes, (int) Math.round(N * 0.2));
    assertThat(binomialFitPValue(sizes, N, 0.2)).isLessThan(1e-6);
  }

  @Test
  void edgeRatesAndEmptyBatches() {
    Random rng = new Random(1);
    assertThat(PoissonSampler.sample(10, 1.0, rng)).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    assertThat(PoissonSampler.sample(10, 0.0, rng)).isEmpty();
    int empty = 0;
    for (int i = 0; i < 1000; i++) {
      if (PoissonSampler.sample(5, 0.1, rng).length == 0) {
        empty++;
      }
    }
    assertThat(empty).isBetween(550, 630); // 0.9^5 = 0.59
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> PoissonSampler.sample(10, 1.5, rng))
        .hasMessageContaining("sampling rate must be in [0, 1]");
  }
}

package org.cloister.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OneRunBoundTest {
  private static final MathContext MC = new MathContext(60);

  /**
   * Independent reference: Theorem 5.2's right-hand side in exact decimal arithmetic, with the
   * binomial tail summed term by term from BigInteger binomial coefficients, and the max over i
   * taken of tail differences (not of running pmf sums as the implementation does).
   */
  static BigDecimal exactPValue(int m, int r, int v, double eps, double delta) {
    BigDecimal q = new BigDecimal(1 / (1 + Math.exp(-eps)));
    BigDecimal[] tail = new BigDecimal[r + 2];
    tail[r + 1] = BigDecimal.ZERO;
    for (int k = r; k >= 0; k--) {
      BigDecimal pmf = new BigDecimal(binomial(r, k)).multiply(q.pow(k, MC), MC)
          .multiply(BigDecimal.ONE.subtract(q).pow(r - k, MC), MC);
      tail[k] = tail[k + 1].add(pmf, MC);
    }
    BigDecimal worst = BigDecimal.ZERO;
    for (int i = 1; i <= v; i++) {
      BigDecimal d = tail[v - i].subtract(tail[v], MC).divide(BigDecimal.valueOf(i), MC);
      worst = worst.max(d);
    }
    BigDecimal p = tail[v].add(BigDecimal.valueOf(2L * m).multiply(new BigDecimal(delta), MC).multiply(worst, MC), MC);
    return p.min(BigDecimal.ONE);
  }

  private static BigInteger binomial(int n, int k) {
    BigInteger c = BigInteger.ONE;
    for (int i = 0; i < k; i++) {
      c = c.multiply(BigInteger.valueOf(n - i)).divide(BigInteger.valueOf(i + 1));
    }
    return c;
  }

  @ParameterizedTest
  @CsvSource({
      "100, 20, 18, 1e-5, 0.05",
      "1000, 100, 80, 1e-5, 0.05",
      "1000, 200, 120, 0, 0.05",
      "1000, 200, 150, 1e-6, 0.01",
      "50, 50, 50, 1e-3, 0.05",
      "500, 40, 40, 1e-5, 0.05",
  })
  void lowerBoundIsTheLargestEpsilonRejectedInExactArithmetic(int m, int r, int v, double delta, double beta) {
    double eps = OneRunBound.epsilonLowerBound(m, r, v, delta, beta);
    assertThat(eps).isPositive();
    BigDecimal b = BigDecimal.valueOf(beta);
    // rejected at the reported epsilon...
    assertThat(exactPValue(m, r, v, eps, delta)).isLessThan(b);
    // ...and not rejected just above it (the search's tolerance is 1e-6)
    assertThat(exactPValue(m, r, v, eps + 2e-6, delta)).isGreaterThanOrEqualTo(b);
  }

  @ParameterizedTest
  @CsvSource({"100, 20, 17, 1e-5, 0.3", "1000, 300, 200, 1e-5, 1.0", "1000, 1000, 700, 1e-6, 2.5"})
  void pValueMatchesExactArithmetic(int m, int r, int v, double delta, double eps) {
    assertThat(OneRunBound.pValue(m, r, v, eps, delta))
        .isCloseTo(exactPValue(m, r, v, eps, delta).doubleValue(), within(1e-12));
  }

  @Test
  void allGuessesCorrectWithDeltaZeroHasAClosedForm() {
    // q^r < beta exactly when eps > log(b / (1 - b)) with b = beta^(1/r)
    for (int r : new int[] {10, 100, 1000}) {
      double b = Math.pow(0.05, 1.0 / r);
      double expected = Math.log(b / (1 - b));
      assertThat(OneRunBound.epsilonLowerBound(1000, r, r, 0, 0.05)).isCloseTo(expected, within(2e-6));
    }
    // r = 100 all correct at 95%: log(0.97049 / 0.02951) = 3.4935 (hand-computed)
    assertThat(OneRunBound.epsilonLowerBound(100, 100, 100, 0, 0.05)).isCloseTo(3.4935, within(1e-3));
  }

  @Test
  void deltaOnlyLowersTheBound() {
    double pure = OneRunBound.epsilonLowerBound(1000, 100, 95, 0, 0.05);
    double approx = OneRunBound.epsilonLowerBound(1000, 100, 95, 1e-4, 0.05);
    assertThat(approx).isLessThan(pure).isPositive();
  }

  @Test
  void chanceLevelGivesZero() {
    assertThat(OneRunBound.epsilonLowerBound(1000, 200, 100, 1e-5, 0.05)).isZero();
  }

  @Test
  void badInputIsNamed() {
    assertThatThrownBy(() -> OneRunBound.epsilonLowerBound(10, 20, 5, 0, 0.05))
        .hasMessageContaining("guesses (20) <= canaries (10)");
    assertThatThrownBy(() -> OneRunBound.epsilonLowerBound(10, 10, 5, 0, 1.5)).hasMessageContaining("beta");
    assertThatThrownBy(() -> OneRunBound.pValue(10, 10, 5, 1, -1e-5)).hasMessageContaining("delta");
  }

  /**
   * The bound is valid: randomized response, exactly eps0-DP per canary (the worst case for this
   * test), audited over 300 seeds; the bound exceeds eps0 in at most a beta fraction of runs
   * (with 3 binomial standard deviations of slack).
   */
  @Test
  void randomizedResponseIsNotOverestimatedBeyondBeta() {
    double eps0 = 2.0;
    double beta = 0.05;
    int trials = 300;
    int m = 1000;
    int over = 0;
    double sum = 0;
    OneRunAuditor auditor = new OneRunAuditor(beta, 0);
    double keep = 1 / (1 + Math.exp(-eps0));
    for (int seed = 0; seed < trials; seed++) {
      SplittableRandom rnd = new SplittableRandom(seed);
      double[] scores = new double[m];
      boolean[] in = new boolean[m];
      for (int i = 0; i < m; i++) {
        in[i] = rnd.nextBoolean();
        boolean said = rnd.nextDouble() < keep ? in[i] : !in[i];
        scores[i] = (said ? 1 : 0) + 1e-3 * rnd.nextDouble(); // random tie-break
      }
      double lb = auditor.audit(scores, in).epsilonLowerBound();
      sum += lb;
      over += lb > eps0 ? 1 : 0;
    }
    assertThat(over).isLessThanOrEqualTo((int) (beta * trials + 3 * Math.sqrt(trials * beta * (1 - beta))));
    // and it has power: on average well above 0 (m = 1000 canaries recover about half of eps0)
    assertThat(sum / trials).isGreaterThan(0.5);
  }
}

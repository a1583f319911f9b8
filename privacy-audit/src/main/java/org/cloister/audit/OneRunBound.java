package org.cloister.audit;

import org.apache.commons.math3.distribution.BinomialDistribution;
import org.apache.commons.math3.special.Beta;

/**
 * The statistics of one-run auditing (Steinke, Nasr, Jagielski 2023, "Privacy auditing with one
 * (1) training run", Theorem 5.2 for (epsilon, delta)-DP, and their epsilon search).
 *
 * <p>m canaries are included independently with probability 1/2; the auditor guesses in or out
 * for r of them and abstains on the rest; v guesses are correct. If the mechanism is
 * (epsilon, delta)-DP then for every v
 * <pre>
 *   P[W &gt;= v] &lt;= f(v) + 2 m delta * max_{i = 1..v} (f(v - i) - f(v)) / i,
 *   f(x) = P[Binomial(r, e^eps / (1 + e^eps)) &gt;= x].
 * </pre>
 * This right-hand side is the p-value of "the mechanism is (epsilon, delta)-DP" given v correct
 * guesses; the lower bound is the largest epsilon whose p-value is below beta. The binomial
 * tail is the regularized incomplete beta function of commons-math3 (accurate in the far tail).
 */
public final class OneRunBound {

  /** Absolute precision of the epsilon search. */
  public static final double EPSILON_TOLERANCE = 1e-6;

  private OneRunBound() {
  }

  /**
   * The p-value bound above: an upper bound on the probability of at least {@code v} correct
   * guesses out of {@code r} under an (epsilon, delta)-DP mechanism with {@code m} canaries.
   */
  public static double pValue(int m, int r, int v, double epsilon, double delta) {
    check(m, r, v, delta);
    if (!(epsilon >= 0) || Double.isInfinite(epsilon)) {
      throw new IllegalArgumentException("epsilon must be >= 0 and finite, got " + epsilon);
    }
    double q = 1 / (1 + Math.exp(-epsilon));
    double tail = upperTail(r, q, v);
    double p = tail;
    if (delta > 0 && v > 0) {
      BinomialDistribution bin = new BinomialDistribution(null, r, q);
      double between = 0; // f(v - i) - f(v) = P[v - i <= Binomial < v]
      double worst = 0;
      for (int i = 1; i <= v; i++) {
        between += bin.probability(v - i);
        worst = Math.max(worst, between / i);
      }
      p += 2.0 * m * delta * worst;
    }
    return Math.min(1, p);
  }

  /**
   * The largest epsilon (to {@link #EPSILON_TOLERANCE}, rounded down) at which {@code v} correct
   * guesses out of {@code r} have p-value below {@code beta}: with confidence 1 - beta the
   * mechanism is not (epsilon', delta)-DP for any epsilon' below the result. 0 when even
   * epsilon = 0 cannot be rejected.
   */
  public static double epsilonLowerBound(int m, int r, int v, double delta, double beta) {
    check(m, r, v, delta);
    if (!(beta > 0 && beta < 1)) {
      throw new IllegalArgumentException("beta (1 - confidence) must be in (0, 1), got " + beta);
    }
    if (!(pValue(m, r, v, 0, delta) < beta)) {
      return 0;
    }
    double lo = 0; // pValue(lo) < beta
    double hi = 1; // pValue(hi) >= beta
    while (pValue(m, r, v, hi, delta) < beta) {
      lo = hi;
      hi *= 2;
      if (hi > 1e4) {
        throw new IllegalStateException("no epsilon up to 1e4 explains " + v + " of " + r + " correct guesses");
      }
    }
    while (hi - lo > EPSILON_TOLERANCE) {
      double mid = (lo + hi) / 2;
      if (pValue(m, r, v, mid, delta) < beta) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** P[Binomial(r, q) >= v], as the regularized incomplete beta I_q(v, r - v + 1). */
  static double upperTail(int r, double q, int v) {
    if (v <= 0) {
      return 1;
    }
    if (v > r) {
      return 0;
    }
    return Beta.regularizedBeta(q, v, r - v + 1.0, 1e-15, 100_000);
  }

  private static void check(int m, int r, int v, double delta) {
    if (!(0 <= v && v <= r && r <= m && m >= 1)) {
      throw new IllegalArgumentException("need 0 <= correct (" + v + ") <= guesses (" + r + ") <= canaries ("
          + m + ") and at least one canary");
    }
    if (!(delta >= 0 && delta <= 1)) {
      throw new IllegalArgumentException("delta must be in [0, 1], got " + delta);
    }
  }
}

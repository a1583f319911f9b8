package org.cloister.audit;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Turns canary scores (higher = more likely included) into an {@link AuditResult}.
 *
 * <p>The auditor guesses "included" on the k highest scores and "excluded" on the k lowest, and
 * abstains on the rest. k is not tuned on the outcome (that would void the confidence): each k
 * of the fixed grid {@link #GUESS_FRACTIONS} (times m) is tested at beta / (grid size)
 * (Bonferroni), and the largest of these lower bounds is reported; all of them hold together with
 * probability at least 1 - beta.
 */
public final class OneRunAuditor {

  /** k / m for the guesses on each side. */
  static final double[] GUESS_FRACTIONS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5};

  private final double beta;
  private final double delta;

  /**
   * @param beta 1 - confidence, in (0, 1)
   * @param delta the delta of the hypothesis (epsilon, delta)-DP being tested, in [0, 1)
   */
  public OneRunAuditor(double beta, double delta) {
    if (!(beta > 0 && beta < 1)) {
      throw new IllegalArgumentException("beta (1 - confidence) must be in (0, 1), got " + beta);
    }
    if (!(delta >= 0 && delta < 1)) {
      throw new IllegalArgumentException("delta must be in [0, 1), got " + delta);
    }
    this.beta = beta;
    this.delta = delta;
  }

  /**
   * Audits: {@code scores[i]} is canary i's score, {@code included[i]} whether it was really
   * included (the secret the auditor did not use to score).
   */
  public AuditResult audit(double[] scores, boolean[] included) {
    int m = scores.length;
    if (m == 0 || included.length != m) {
      throw new IllegalArgumentException("need one inclusion flag per score and at least one canary, got "
          + m + " scores and " + included.length + " flags");
    }
    for (int i = 0; i < m; i++) {
      if (!Double.isFinite(scores[i])) {
        throw new IllegalArgumentException("canary " + i + " has a non-finite score " + scores[i]);
      }
    }
    Integer[] order = IntStream.range(0, m).boxed().toArray(Integer[]::new);
    // descending score, ties by index (deterministic)
    Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -scores[i]).thenComparingInt(i -> i));
    double bestEps = 0;
    int bestR = 0;
    int bestV = 0;
    int bestIn = 0;
    double perTest = beta / GUESS_FRACTIONS.length;
    for (double f : GUESS_FRACTIONS) {
      int k = Math.max(1, (int) Math.round(f * m));
      if (2 * k > m) {
        k = m / 2;
      }
      if (k == 0) {
        continue;
      }
      int v = 0;
      for (int j = 0; j < k; j++) {
        v += included[order[j]] ? 1 : 0;
        v += included[order[m - 1 - j]] ? 0 : 1;
      }
      double eps = OneRunBound.epsilonLowerBound(m, 2 * k, v, delta, perTest);
      if (eps > bestEps || bestR == 0) {
        bestEps = eps;
        bestR = 2 * k;
        bestV = v;
        bestIn = k;
      }
    }
    int nIn = 0;
    for (boolean b : included) {
      nIn += b ? 1 : 0;
    }
    return new AuditResult(m, nIn, bestR, bestV, bestIn, bestEps, 1 - beta, delta,
        Roc.tprAtFpr(scores, included, 1e-3), Roc.tprAtFpr(scores, included, 1e-2), Roc.auroc(scores, included));
  }
}

package org.cloister.audit;

import java.util.Arrays;

/** ROC figures of a membership score (descriptive statistics; they carry no confidence). */
public final class Roc {
  private Roc() {
  }

  /**
   * The true-positive rate at false-positive rate at most {@code fpr}: the fraction of included
   * canaries scoring strictly above a threshold that at most floor(fpr * #excluded) excluded
   * canaries exceed. NaN when either class is empty.
   */
  public static double tprAtFpr(double[] scores, boolean[] included, double fpr) {
    double[] in = select(scores, included, true);
    double[] out = select(scores, included, false);
    if (in.length == 0 || out.length == 0) {
      return Double.NaN;
    }
    Arrays.sort(out);
    int allowed = (int) Math.floor(fpr * out.length);
    double threshold = out[out.length - 1 - Math.min(allowed, out.length - 1)];
    int tp = 0;
    for (double s : in) {
      tp += s > threshold ? 1 : 0;
    }
    return tp / (double) in.length;
  }

  /** Area under the ROC curve (Mann-Whitney U / (n_in n_out), ties count 1/2). NaN when a class is empty. */
  public static double auroc(double[] scores, boolean[] included) {
    double[] in = select(scores, included, true);
    double[] out = select(scores, included, false);
    if (in.length == 0 || out.length == 0) {
      return Double.NaN;
    }
    Arrays.sort(out);
    double u = 0;
    for (double s : in) {
      int below = lowerBound(out, s);
      int notAbove = upperBound(out, s);
      u += below + 0.5 * (notAbove - below);
    }
    return u / ((double) in.length * out.length);
  }

  private static int lowerBound(double[] sorted, double x) {
    int lo = 0;
    int hi = sorted.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid] < x) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  private static int upperBound(double[] sorted, double x) {
    int lo = 0;
    int hi = sorted.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid] <= x) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  private static double[] select(double[] scores, boolean[] included, boolean which) {
    return java.util.stream.IntStream.range(0, scores.length).filter(i -> included[i] == which)
        .mapToDouble(i -> scores[i]).toArray();
  }
}

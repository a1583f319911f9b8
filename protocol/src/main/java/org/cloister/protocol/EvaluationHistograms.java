package org.cloister.protocol;

import java.util.SplittableRandom;

/**
 * The layout of a federated evaluation release ({@code EvaluationRelease}, layout 1) and the metrics the
 * coordinator derives from the sum of the sites' noised releases. Everything here after the site's release
 * is post-processing of differentially private counts.
 *
 * <p>Binary studies: {@code counts[c * bins + b]}, the held-out examples of true class {@code c} whose score
 * P(class 1) falls in bin {@code b} of [0, 1] (bin {@code min(bins - 1, floor(score * bins))}); the even bin
 * count puts 0.5 on a bin edge, so the accuracy at threshold 0.5 and the AUC (ties within a bin count a half)
 * follow from the histograms. More classes: a confusion matrix {@code counts[c * classes + p]}; accuracy only.
 * Either way one example is in exactly one cell: adding or removing it changes one count by 1.
 */
public final class EvaluationHistograms {
  public static final int LAYOUT = 1;
  public static final int MAX_BINS = 1000;
  private static final int BOOTSTRAP = 400;

  private EvaluationHistograms() {
  }

  /** The number of counts of a release for {@code classes} classes and {@code bins} bins. */
  public static int cells(int classes, int bins) {
    return classes == 2 ? 2 * bins : classes * classes;
  }

  /** Why (classes, bins) is not a valid layout, or null. */
  public static String layoutProblem(int classes, int bins) {
    if (classes < 2) {
      return "classes must be >= 2, got " + classes;
    }
    if (classes == 2 && (bins < 2 || bins > MAX_BINS || bins % 2 != 0)) {
      return "bins must be an even number in [2, " + MAX_BINS + "] (0.5 must be a bin edge), got " + bins;
    }
    if (classes > 2 && classes > 100) {
      return "more than 100 classes";
    }
    return null;
  }

  /** The bin of a score in [0, 1]. */
  public static int bin(double score, int bins) {
    if (!(score >= 0)) {
      return 0;
    }
    return (int) Math.min(bins - 1, Math.floor(score * bins));
  }

  /**
   * Accuracy and AUC of summed noised counts, with their standard errors from the noise alone (a seeded
   * parametric bootstrap: the noise redrawn with the known variance, the metrics recomputed).
   *
   * @param noiseVariance the variance of each summed count's noise (the sum of the sites' variances)
   */
  public static Metrics metrics(double[] counts, int classes, int bins, double noiseVariance, long seed) {
    double[] point = raw(counts, classes, bins);
    double sd = Math.sqrt(Math.max(0, noiseVariance));
    SplittableRandom random = new SplittableRandom(seed);
    double[] acc = new double[BOOTSTRAP];
    double[] auc = new double[BOOTSTRAP];
    double[] redrawn = new double[counts.length];
    for (int k = 0; k < BOOTSTRAP; k++) {
      for (int i = 0; i < counts.length; i++) {
        redrawn[i] = counts[i] + sd * gaussian(random);
      }
      double[] m = raw(redrawn, classes, bins);
      acc[k] = m[1];
      auc[k] = m[2];
    }
    return new Metrics(point[0], point[1], stddev(acc), point[2], stddev(auc));
  }

  /**
   * @param examples    the noised total count of held-out examples
   * @param accuracySe  standard error of the accuracy from the noise (NaN when undefined)
   * @param auc         NaN for more than two classes, or when a class has no (noised) example
   */
  public record Metrics(double examples, double accuracy, double accuracySe, double auc, double aucSe) {
  }

  /** {examples, accuracy, auc} of counts clamped at 0 (noise may make a count negative). */
  static double[] raw(double[] noised, int classes, int bins) {
    double[] c = new double[noised.length];
    double total = 0;
    for (int i = 0; i < c.length; i++) {
      c[i] = Math.max(0, noised[i]);
      total += c[i];
    }
    double totalNoised = 0;
    for (double v : noised) {
      totalNoised += v;
    }
    if (classes != 2) {
      double correct = 0;
      for (int k = 0; k < classes; k++) {
        correct += c[k * classes + k];
      }
      return new double[] {totalNoised, total > 0 ? correct / total : Double.NaN, Double.NaN};
    }
    double correct = 0;
    double pos = 0;
    double neg = 0;
    double auc = 0;
    double negBelow = 0;
    for (int b = 0; b < bins; b++) {
      double n = c[b];
      double p = c[bins + b];
      if (b < bins / 2) {
        correct += n;
      } else {
        correct += p;
      }
      auc += p * (negBelow + n / 2);
      negBelow += n;
      pos += p;
      neg += n;
    }
    return new double[] {totalNoised, total > 0 ? correct / total : Double.NaN,
        pos > 0 && neg > 0 ? auc / (pos * neg) : Double.NaN};
  }

  private static double gaussian(SplittableRandom r) {
    // Box-Muller: reporting only (post-processing of released counts), not a privacy mechanism
    double u = 1.0 - r.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble());
  }

  private static double stddev(double[] xs) {
    double sum = 0;
    int n = 0;
    for (double x : xs) {
      if (!Double.isNaN(x)) {
        sum += x;
        n++;
      }
    }
    if (n < 2) {
      return Double.NaN;
    }
    double mean = sum / n;
    double ss = 0;
    for (double x : xs) {
      if (!Double.isNaN(x)) {
        ss += (x - mean) * (x - mean);
      }
    }
    return Math.sqrt(ss / (n - 1));
  }
}

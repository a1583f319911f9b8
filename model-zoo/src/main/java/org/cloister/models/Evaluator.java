package org.cloister.models;

import java.util.Arrays;
import org.cloister.data.Dataset;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Evaluates a classifier on a labelled dataset. */
public final class Evaluator {
  private Evaluator() {
  }

  /** Evaluates a {@code MultiLayerNetwork} or a single-output {@code ComputationGraph}. */
  public static EvaluationMetrics evaluate(Model net, Dataset test) {
    INDArray x = Nd4jData.features(test, Nd4jData.allRows(test), net.params().dataType());
    double[][] p = Networks.output(net, x).castTo(DataType.DOUBLE).toDoubleMatrix();
    return fromProbabilities(p, test.labels());
  }

  public static EvaluationMetrics fromProbabilities(double[][] probs, int[] labels) {
    int n = labels.length;
    int k = probs.length == 0 ? 0 : probs[0].length;
    int correct = 0;
    double loss = 0;
    for (int i = 0; i < n; i++) {
      int best = 0;
      for (int c = 1; c < k; c++) {
        if (probs[i][c] > probs[i][best]) {
          best = c;
        }
      }
      if (best == labels[i]) {
        correct++;
      }
      loss -= Math.log(Math.max(probs[i][labels[i]], 1e-15));
    }
    double auc;
    if (k == 2) {
      auc = binaryAuc(column(probs, 1), labels, 1);
    } else {
      double s = 0;
      int m = 0;
      for (int c = 0; c < k; c++) {
        double a = binaryAuc(column(probs, c), labels, c);
        if (!Double.isNaN(a)) {
          s += a;
          m++;
        }
      }
      auc = m == 0 ? Double.NaN : s / m;
    }
    return new EvaluationMetrics(n == 0 ? Double.NaN : correct / (double) n, auc, n == 0 ? Double.NaN : loss / n, n);
  }

  private static double[] column(double[][] p, int c) {
    double[] out = new double[p.length];
    for (int i = 0; i < p.length; i++) {
      out[i] = p[i][c];
    }
    return out;
  }

  /**
   * ROC AUC by the Mann-Whitney statistic with average ranks for ties; NaN when only one class is
   * present.
   */
  static double binaryAuc(double[] score, int[] labels, int positive) {
    int n = score.length;
    Integer[] idx = new Integer[n];
    for (int i = 0; i < n; i++) {
      idx[i] = i;
    }
    Arrays.sort(idx, (a, b) -> Double.compare(score[a], score[b]));
    double[] rank = new double[n];
    int i = 0;
    while (i < n) {
      int j = i;
      while (j + 1 < n && score[idx[j + 1]] == score[idx[i]]) {
        j++;
      }
      double avg = (i + j) / 2.0 + 1;
      for (int t = i; t <= j; t++) {
        rank[idx[t]] = avg;
      }
      i = j + 1;
    }
    long pos = 0;
    double rankSum = 0;
    for (int t = 0; t < n; t++) {
      if (labels[t] == positive) {
        pos++;
        rankSum += rank[t];
      }
    }
    long neg = n - pos;
    if (pos == 0 || neg == 0) {
      return Double.NaN;
    }
    return (rankSum - pos * (pos + 1) / 2.0) / (pos * (double) neg);
  }
}

package org.cloister.data;

/**
 * Fills missing values (NaN) with per-feature means fitted on one dataset (the training split,
 * so nothing about the test split leaks), before standardization. A feature missing in every
 * training row is filled with 0.
 */
public record MeanImputer(double[] means) {

  public static MeanImputer fit(Dataset train) {
    int d = train.numFeatures();
    double[] sum = new double[d];
    long[] n = new long[d];
    for (double[] row : train.features()) {
      for (int j = 0; j < d; j++) {
        if (!Double.isNaN(row[j])) {
          sum[j] += row[j];
          n[j]++;
        }
      }
    }
    double[] means = new double[d];
    for (int j = 0; j < d; j++) {
      means[j] = n[j] == 0 ? 0 : sum[j] / n[j];
    }
    return new MeanImputer(means);
  }

  /** Whether any value of {@code data} is missing. */
  public static boolean hasMissing(Dataset data) {
    for (double[] row : data.features()) {
      for (double v : row) {
        if (Double.isNaN(v)) {
          return true;
        }
      }
    }
    return false;
  }

  public Dataset apply(Dataset data) {
    double[][] f = new double[data.size()][];
    for (int i = 0; i < f.length; i++) {
      double[] row = data.features()[i].clone();
      for (int j = 0; j < row.length; j++) {
        if (Double.isNaN(row[j])) {
          row[j] = means[j];
        }
      }
      f[i] = row;
    }
    return new Dataset(data.featureNames(), data.labelName(), data.classNames(), f, data.labels());
  }
}

package org.cloister.data;

/**
 * Per-feature standardization (zero mean, unit variance) with statistics fitted on one dataset
 * (the training split only, so that the test split does not leak into training).
 */
public record Standardizer(double[] mean, double[] std) {

  public static Standardizer fit(Dataset data) {
    int d = data.numFeatures();
    double[] mean = new double[d];
    double[] m2 = new double[d];
    int n = 0;
    for (double[] row : data.features()) {
      n++;
      for (int j = 0; j < d; j++) {
        double delta = row[j] - mean[j];
        mean[j] += delta / n;
        m2[j] += delta * (row[j] - mean[j]);
      }
    }
    double[] std = new double[d];
    for (int j = 0; j < d; j++) {
      double var = n > 1 ? m2[j] / (n - 1) : 0;
      std[j] = var > 1e-24 ? Math.sqrt(var) : 1.0;
    }
    return new Standardizer(mean, std);
  }

  public Dataset apply(Dataset data) {
    double[][] out = new double[data.size()][];
    for (int i = 0; i < out.length; i++) {
      double[] row = data.features()[i];
      double[] r = new double[row.length];
      for (int j = 0; j < row.length; j++) {
        r[j] = (row[j] - mean[j]) / std[j];
      }
      out[i] = r;
    }
    return new Dataset(data.featureNames(), data.labelName(), data.classNames(), out, data.labels());
  }
}

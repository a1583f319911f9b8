package org.cloister.data;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An in-memory tabular dataset: numeric features and an integer class label per row.
 *
 * <p>Rows are identified by their position. The arrays are owned by the dataset: callers must not
 * mutate them (use {@link #subset(int[])} to derive new datasets).
 */
public record Dataset(List<String> featureNames, String labelName, List<String> classNames,
                      double[][] features, int[] labels) {

  public Dataset {
    featureNames = List.copyOf(featureNames);
    classNames = List.copyOf(classNames);
    Objects.requireNonNull(labelName, "labelName");
    if (features.length != labels.length) {
      throw new IllegalArgumentException("features has " + features.length + " rows but labels has " + labels.length);
    }
    for (int i = 0; i < features.length; i++) {
      if (features[i].length != featureNames.size()) {
        throw new IllegalArgumentException("row " + i + " has " + features[i].length + " features, expected " + featureNames.size());
      }
    }
    for (int l : labels) {
      if (l < 0 || l >= classNames.size()) {
        throw new IllegalArgumentException("label " + l + " outside [0, " + classNames.size() + ")");
      }
    }
  }

  public int size() {
    return labels.length;
  }

  public int numFeatures() {
    return featureNames.size();
  }

  public int numClasses() {
    return classNames.size();
  }

  /** A new dataset with the given rows, in the given order. */
  public Dataset subset(int[] rows) {
    double[][] f = new double[rows.length][];
    int[] l = new int[rows.length];
    for (int i = 0; i < rows.length; i++) {
      f[i] = features[rows[i]];
      l[i] = labels[rows[i]];
    }
    return new Dataset(featureNames, labelName, classNames, f, l);
  }

  /** Count of rows per class. */
  public int[] classCounts() {
    int[] c = new int[numClasses()];
    for (int l : labels) {
      c[l]++;
    }
    return c;
  }

  @Override
  public String toString() {
    return "Dataset[rows=" + size() + ", features=" + numFeatures() + ", label=" + labelName
        + ", classCounts=" + Arrays.toString(classCounts()) + "]";
  }
}

package org.cloister.data;

import java.util.List;

/**
 * A study's resolved feature handling, applied record by record: one record's inputs depend on
 * that record and on constants only, never on the other records of the file.
 */
public record Preprocessing(List<String> features, List<FeatureTransform> transforms) {
  public Preprocessing {
    features = List.copyOf(features);
    transforms = List.copyOf(transforms);
    if (features.size() != transforms.size()) {
      throw new IllegalArgumentException(features.size() + " features but " + transforms.size() + " transforms");
    }
  }

  /** The model inputs of {@code data}, whose features must be the study's, in its order. */
  public Dataset apply(Dataset data) {
    if (!data.featureNames().equals(features)) {
      throw new IllegalArgumentException("data has features " + data.featureNames() + " but the study's are " + features);
    }
    double[][] out = new double[data.size()][];
    for (int i = 0; i < out.length; i++) {
      double[] row = data.features()[i];
      double[] r = new double[row.length];
      for (int j = 0; j < row.length; j++) {
        r[j] = transforms.get(j).apply(row[j]);
      }
      out[i] = r;
    }
    return new Dataset(data.featureNames(), data.labelName(), data.classNames(), out, data.labels());
  }
}

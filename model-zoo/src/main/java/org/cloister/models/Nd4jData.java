package org.cloister.models;

import org.cloister.data.Dataset;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Converts {@link Dataset}s to ND4J arrays (features and one-hot labels). */
public final class Nd4jData {
  private Nd4jData() {
  }

  public static INDArray features(Dataset d, int[] rows, DataType dt) {
    int nf = d.numFeatures();
    double[] flat = new double[rows.length * nf];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(d.features()[rows[i]], 0, flat, i * nf, nf);
    }
    return Nd4j.create(flat, new long[] {rows.length, nf}, DataType.DOUBLE).castTo(dt);
  }

  public static INDArray oneHot(Dataset d, int[] rows, DataType dt) {
    int k = d.numClasses();
    double[] flat = new double[rows.length * k];
    for (int i = 0; i < rows.length; i++) {
      flat[i * k + d.labels()[rows[i]]] = 1.0;
    }
    return Nd4j.create(flat, new long[] {rows.length, k}, DataType.DOUBLE).castTo(dt);
  }

  public static int[] allRows(Dataset d) {
    int[] r = new int[d.size()];
    for (int i = 0; i < r.length; i++) {
      r[i] = i;
    }
    return r;
  }
}

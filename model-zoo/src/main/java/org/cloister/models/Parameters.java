package org.cloister.models;

import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Flat float views of a network's parameters (a {@code MultiLayerNetwork} or a
 * {@code ComputationGraph}): the unit that crosses the wire.
 */
public final class Parameters {
  private Parameters() {
  }

  public static float[] get(Model net) {
    return net.params().toFloatVector();
  }

  public static void set(Model net, float[] values) {
    long n = net.numParams();
    if (values.length != n) {
      throw new IllegalArgumentException("model has " + n + " parameters but " + values.length + " values were given");
    }
    INDArray p = Nd4j.createFromArray(values).castTo(net.params().dataType()).reshape(net.params().shape());
    net.setParams(p);
  }

  /** {@code a - b}, element-wise. */
  public static float[] subtract(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException("length mismatch " + a.length + " vs " + b.length);
    }
    float[] out = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i] - b[i];
    }
    return out;
  }
}

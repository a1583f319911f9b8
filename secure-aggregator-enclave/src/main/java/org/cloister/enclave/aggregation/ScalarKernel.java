package org.cloister.enclave.aggregation;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Plain Java kernel: the reference, and the fallback when the Vector API is not available. */
public final class ScalarKernel implements UpdateKernel {
  private static final VarHandle F32LE = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

  static float get(byte[] bytes, int offset) {
    return (float) F32LE.get(bytes, offset);
  }

  @Override
  public String name() {
    return "scalar";
  }

  @Override
  public double accumulateInto(byte[] bytes, int off, int n, float weight, float[] in, float[] out) {
    double s0 = 0;
    double s1 = 0;
    int i = 0;
    for (; i + 1 < n; i += 2) {
      float a = get(bytes, off + i * Float.BYTES);
      float b = get(bytes, off + (i + 1) * Float.BYTES);
      s0 += (double) a * a;
      s1 += (double) b * b;
      out[i] = Math.fma(weight, a, in[i]);
      out[i + 1] = Math.fma(weight, b, in[i + 1]);
    }
    for (; i < n; i++) {
      float a = get(bytes, off + i * Float.BYTES);
      s0 += (double) a * a;
      out[i] = Math.fma(weight, a, in[i]);
    }
    return s0 + s1;
  }

  @Override
  public void accumulate4(byte[][] values, float[] weights, int n, float[] in, float[] out, double[] sumsOfSquares) {
    byte[] b0 = values[0];
    byte[] b1 = values[1];
    byte[] b2 = values[2];
    byte[] b3 = values[3];
    double s0 = 0;
    double s1 = 0;
    double s2 = 0;
    double s3 = 0;
    for (int i = 0; i < n; i++) {
      int o = i * Float.BYTES;
      float a0 = get(b0, o);
      float a1 = get(b1, o);
      float a2 = get(b2, o);
      float a3 = get(b3, o);
      s0 += (double) a0 * a0;
      s1 += (double) a1 * a1;
      s2 += (double) a2 * a2;
      s3 += (double) a3 * a3;
      out[i] = Math.fma(weights[3], a3, Math.fma(weights[2], a2, Math.fma(weights[1], a1, Math.fma(weights[0], a0, in[i]))));
    }
    sumsOfSquares[0] = s0;
    sumsOfSquares[1] = s1;
    sumsOfSquares[2] = s2;
    sumsOfSquares[3] = s3;
  }
}

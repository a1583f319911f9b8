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
  public double sumOfSquares(byte[] bytes, int off, int n) {
    double s0 = 0;
    double s1 = 0;
    double s2 = 0;
    double s3 = 0;
    int i = 0;
    for (; i + 3 < n; i += 4) {
      int o = off + i * Float.BYTES;
      double a = get(bytes, o);
      double b = get(bytes, o + 4);
      double c = get(bytes, o + 8);
      double d = get(bytes, o + 12);
      s0 += a * a;
      s1 += b * b;
      s2 += c * c;
      s3 += d * d;
    }
    for (; i < n; i++) {
      double a = get(bytes, off + i * Float.BYTES);
      s0 += a * a;
    }
    return (s0 + s1) + (s2 + s3);
  }

  @Override
  public void accumulate(byte[] bytes, int off, int n, float weight, float[] acc) {
    for (int i = 0; i < n; i++) {
      acc[i] = Math.fma(weight, get(bytes, off + i * Float.BYTES), acc[i]);
    }
  }
}

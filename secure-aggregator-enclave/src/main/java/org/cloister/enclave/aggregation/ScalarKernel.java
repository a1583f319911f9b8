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
}

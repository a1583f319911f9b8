package org.cloister.enclave.aggregation;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernel on the JDK Vector API (incubator module {@code jdk.incubator.vector}): loads float lanes
 * straight from the decrypted bytes. Loaded reflectively by {@link UpdateKernel#best()} only when
 * the module is present. Squares are summed in float lanes over blocks of {@value #BLOCK} vectors,
 * each block's total added in double, so the rounding error stays far below what a norm bound needs.
 */
final class VectorKernel implements UpdateKernel {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final int BLOCK = 256;

  @Override
  public String name() {
    return "vector-" + SPECIES.vectorBitSize();
  }

  @Override
  public double accumulateInto(byte[] bytes, int off, int n, float weight, float[] in, float[] out) {
    int lanes = SPECIES.length();
    int upper = SPECIES.loopBound(n);
    FloatVector w = FloatVector.broadcast(SPECIES, weight);
    double total = 0;
    FloatVector s = FloatVector.zero(SPECIES);
    int inBlock = 0;
    int i = 0;
    for (; i < upper; i += lanes) {
      FloatVector v = FloatVector.fromByteArray(SPECIES, bytes, off + i * Float.BYTES, ByteOrder.LITTLE_ENDIAN);
      s = v.fma(v, s);
      v.fma(w, FloatVector.fromArray(SPECIES, in, i)).intoArray(out, i);
      if (++inBlock == BLOCK) {
        total += s.reduceLanes(VectorOperators.ADD);
        s = FloatVector.zero(SPECIES);
        inBlock = 0;
      }
    }
    total += s.reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      float a = ScalarKernel.get(bytes, off + i * Float.BYTES);
      total += (double) a * a;
      out[i] = Math.fma(weight, a, in[i]);
    }
    return total;
  }
}

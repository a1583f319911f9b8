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

  @Override
  public void accumulate4(byte[][] values, float[] weights, int n, float[] in, float[] out, double[] sumsOfSquares) {
    byte[] b0 = values[0];
    byte[] b1 = values[1];
    byte[] b2 = values[2];
    byte[] b3 = values[3];
    FloatVector w0 = FloatVector.broadcast(SPECIES, weights[0]);
    FloatVector w1 = FloatVector.broadcast(SPECIES, weights[1]);
    FloatVector w2 = FloatVector.broadcast(SPECIES, weights[2]);
    FloatVector w3 = FloatVector.broadcast(SPECIES, weights[3]);
    FloatVector s0 = FloatVector.zero(SPECIES);
    FloatVector s1 = s0;
    FloatVector s2 = s0;
    FloatVector s3 = s0;
    double t0 = 0;
    double t1 = 0;
    double t2 = 0;
    double t3 = 0;
    int lanes = SPECIES.length();
    int upper = SPECIES.loopBound(n);
    int inBlock = 0;
    int i = 0;
    for (; i < upper; i += lanes) {
      int o = i * Float.BYTES;
      FloatVector v0 = FloatVector.fromByteArray(SPECIES, b0, o, ByteOrder.LITTLE_ENDIAN);
      FloatVector v1 = FloatVector.fromByteArray(SPECIES, b1, o, ByteOrder.LITTLE_ENDIAN);
      FloatVector v2 = FloatVector.fromByteArray(SPECIES, b2, o, ByteOrder.LITTLE_ENDIAN);
      FloatVector v3 = FloatVector.fromByteArray(SPECIES, b3, o, ByteOrder.LITTLE_ENDIAN);
      s0 = v0.fma(v0, s0);
      s1 = v1.fma(v1, s1);
      s2 = v2.fma(v2, s2);
      s3 = v3.fma(v3, s3);
      v3.fma(w3, v2.fma(w2, v1.fma(w1, v0.fma(w0, FloatVector.fromArray(SPECIES, in, i))))).intoArray(out, i);
      if (++inBlock == BLOCK) {
        t0 += s0.reduceLanes(VectorOperators.ADD);
        t1 += s1.reduceLanes(VectorOperators.ADD);
        t2 += s2.reduceLanes(VectorOperators.ADD);
        t3 += s3.reduceLanes(VectorOperators.ADD);
        s0 = FloatVector.zero(SPECIES);
        s1 = s0;
        s2 = s0;
        s3 = s0;
        inBlock = 0;
      }
    }
    t0 += s0.reduceLanes(VectorOperators.ADD);
    t1 += s1.reduceLanes(VectorOperators.ADD);
    t2 += s2.reduceLanes(VectorOperators.ADD);
    t3 += s3.reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      int o = i * Float.BYTES;
      float a0 = ScalarKernel.get(b0, o);
      float a1 = ScalarKernel.get(b1, o);
      float a2 = ScalarKernel.get(b2, o);
      float a3 = ScalarKernel.get(b3, o);
      t0 += (double) a0 * a0;
      t1 += (double) a1 * a1;
      t2 += (double) a2 * a2;
      t3 += (double) a3 * a3;
      out[i] = Math.fma(weights[3], a3, Math.fma(weights[2], a2, Math.fma(weights[1], a1, Math.fma(weights[0], a0, in[i]))));
    }
    sumsOfSquares[0] = t0;
    sumsOfSquares[1] = t1;
    sumsOfSquares[2] = t2;
    sumsOfSquares[3] = t3;
  }
}

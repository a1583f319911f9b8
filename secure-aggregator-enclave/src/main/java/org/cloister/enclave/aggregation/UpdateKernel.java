package org.cloister.enclave.aggregation;

/**
 * The inner loop of aggregation over an update held as little-endian float32 bytes (the decrypted
 * plaintext, read in place without a copy). Implementations must give bit-identical sums (each
 * element is one fused multiply-add), so that a study's figures do not depend on which kernel ran.
 */
public interface UpdateKernel {

  /** A short name for reports ("vector-512", "scalar"). */
  String name();

  /**
   * One pass over the {@code n} float32 values at {@code bytes[off...]}: writes
   * {@code out[i] = fma(weight, value[i], in[i])} (leaving {@code in} untouched, so a rejected update
   * is dropped by not adopting {@code out}) and returns the sum of the values' squares. That sum is
   * NaN or infinite if any value is, and may also be infinite for finite values whose squares
   * overflow float; callers re-check such updates with {@link #firstNonFinite}.
   */
  double accumulateInto(byte[] bytes, int off, int n, float weight, float[] in, float[] out);

  /**
   * Four updates in one pass over the sum: {@code out[i] = fma(w3, v3[i], fma(w2, v2[i], fma(w1,
   * v1[i], fma(w0, v0[i], in[i]))))} — bit for bit what four {@link #accumulateInto} calls in that
   * order give — and each update's sum of squares into {@code sumsOfSquares[0..3]}. Reading the sum
   * once per four updates instead of once per update is what keeps aggregation close to the speed
   * of decryption.
   */
  void accumulate4(byte[][] values, float[] weights, int n, float[] in, float[] out, double[] sumsOfSquares);

  /** Index of the first NaN or infinite value, or -1. Slow path, used only for rejected updates. */
  static int firstNonFinite(byte[] bytes, int off, int n) {
    for (int i = 0; i < n; i++) {
      if (!Float.isFinite(ScalarKernel.get(bytes, off + i * Float.BYTES))) {
        return i;
      }
    }
    return -1;
  }

  /** Exact double-precision sum of squares (slow path for updates whose float sum overflowed). */
  static double exactSumOfSquares(byte[] bytes, int off, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      double v = ScalarKernel.get(bytes, off + i * Float.BYTES);
      s += v * v;
    }
    return s;
  }

  /**
   * The fastest kernel this JVM supports: the Vector API kernel when the {@code jdk.incubator.vector}
   * module is present (the enclave process is started with {@code --add-modules jdk.incubator.vector}),
   * otherwise the scalar kernel.
   */
  static UpdateKernel best() {
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
      try {
        return (UpdateKernel) Class.forName("org.cloister.enclave.aggregation.VectorKernel")
            .getDeclaredConstructor().newInstance();
      } catch (ReflectiveOperationException | LinkageError e) {
        return new ScalarKernel();
      }
    }
    return new ScalarKernel();
  }
}

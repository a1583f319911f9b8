package org.cloister.bench;

import org.jtransforms.fft.DoubleFFT_1D;

/**
 * The self-convolution {@code a * a} of real data with JTransforms: zero-pad to the transform
 * length {@code FftConvolver} picks (the smallest 2^k or 3 * 2^k holding the 2L - 1 results),
 * {@code realForward}, square in JTransforms' packed real format, {@code realInverse} scaled. The
 * same work as {@code FftConvolver.square}, for a like-for-like benchmark. One thread.
 */
final class JTransformsSquare {
  private final int length;
  private final int n;
  private final DoubleFFT_1D fft;
  private final double[] work;

  JTransformsSquare(int length) {
    this.length = length;
    this.n = transformLength(2 * length - 1);
    pl.edu.icm.jlargearrays.ConcurrencyUtils.setNumberOfThreads(1);
    this.fft = new DoubleFFT_1D(n);
    this.work = new double[n];
  }

  double[] square(double[] a) {
    if (a.length != length) {
      throw new IllegalArgumentException("planned for " + length + " values, got " + a.length);
    }
    System.arraycopy(a, 0, work, 0, length);
    java.util.Arrays.fill(work, length, n, 0.0);
    fft.realForward(work);
    // packed: work[0] = Re X_0, work[1] = Re X_{n/2} (n even), work[2k], work[2k+1] = Re, Im X_k
    work[0] *= work[0];
    work[1] *= work[1];
    for (int k = 2; k < n; k += 2) {
      double re = work[k];
      double im = work[k + 1];
      work[k] = re * re - im * im;
      work[k + 1] = 2 * re * im;
    }
    fft.realInverse(work, true);
    return java.util.Arrays.copyOf(work, 2 * length - 1);
  }

  /** As {@code FftConvolver.transformLength}: the smaller of 2^k and 3 * 2^j (both at least 16) holding {@code length}. */
  static int transformLength(int length) {
    int pow2 = Math.max(16, Integer.highestOneBit(Math.max(1, length - 1)) << 1);
    int third = (length + 2) / 3;
    int pow3 = 3 * Math.max(16, Integer.highestOneBit(Math.max(1, third - 1)) << 1);
    return pow3 < pow2 ? pow3 : pow2;
  }
}

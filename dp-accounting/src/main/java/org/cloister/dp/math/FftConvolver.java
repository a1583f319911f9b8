package org.cloister.dp.math;

import java.util.HashMap;
import java.util.Map;
import org.jtransforms.fft.DoubleFFT_1D;

/**
 * Linear convolution of real sequences by fast Fourier transform, over JTransforms' real-input
 * FFT ({@code DoubleFFT_1D.realForward}/{@code realInverse}): a convolution costs three real
 * transforms of the padded length N, a squaring two. N is the smallest of 2^k and 3 * 2^k that
 * holds the result, which wastes less padding than powers of two alone. Short inputs use the
 * direct sum (exact, and faster there).
 *
 * <p>Round-off: each output value carries an absolute error of about 1e-16 log2(N) times the
 * magnitude of the largest products; callers convolving probabilities clamp the tiny negative
 * results to zero. JTransforms replaced our own FFT after {@code cloister bench privacy} measured
 * it faster on the PLD accountant's sizes (docs/benchmarks.md).
 *
 * <p>Keeps plans and work buffers between calls: not thread-safe, use one instance per thread.
 */
public final class FftConvolver {

  /** Below this many multiply-adds the direct O(n*m) sum is used (it is exact and faster). */
  private static final long DIRECT_LIMIT = 1L << 14;

  private final Map<Integer, DoubleFFT_1D> plans = new HashMap<>();
  private double[] specA = new double[0];
  private double[] specB = new double[0];

  /** {@code a * b}, of length {@code a.length + b.length - 1}. */
  public double[] convolve(double[] a, double[] b) {
    if (a.length == 0 || b.length == 0) {
      return new double[0];
    }
    int outLength = a.length + b.length - 1;
    if (isSmall(a.length, b.length)) {
      return direct(a, b);
    }
    int n = transformLength(outLength);
    DoubleFFT_1D fft = plan(n);
    ensureCapacity(n);
    forward(fft, a, specA, n);
    forward(fft, b, specB, n);
    multiplyInto(specA, specB, n);
    return inverse(fft, specA, outLength);
  }

  /** {@code a * a}, of length {@code 2 a.length - 1} (one forward transform fewer). */
  public double[] square(double[] a) {
    if (a.length == 0) {
      return new double[0];
    }
    int outLength = 2 * a.length - 1;
    if (isSmall(a.length, a.length)) {
      return direct(a, a);
    }
    int n = transformLength(outLength);
    DoubleFFT_1D fft = plan(n);
    ensureCapacity(n);
    forward(fft, a, specA, n);
    multiplyInto(specA, specA, n);
    return inverse(fft, specA, outLength);
  }

  /**
   * {@code {a * b, b * b}}, sharing the transform of b (four transforms instead of five): the step
   * of repeated squaring that both multiplies the result by the current power and squares it.
   */
  public double[][] convolveAndSquare(double[] a, double[] b) {
    if (a.length == 0 || b.length == 0 || isSmall(a.length, b.length) || isSmall(b.length, b.length)) {
      return new double[][] {convolve(a, b), square(b)};
    }
    int productLength = a.length + b.length - 1;
    int squareLength = 2 * b.length - 1;
    int n = transformLength(Math.max(productLength, squareLength));
    DoubleFFT_1D fft = plan(n);
    ensureCapacity(n);
    forward(fft, b, specB, n);
    forward(fft, a, specA, n);
    multiplyInto(specA, specB, n);
    double[] product = inverse(fft, specA, productLength);
    multiplyInto(specB, specB, n);
    double[] square = inverse(fft, specB, squareLength);
    return new double[][] {product, square};
  }

  private static boolean isSmall(int la, int lb) {
    return (long) la * lb <= DIRECT_LIMIT || Math.min(la, lb) <= 16;
  }

  private DoubleFFT_1D plan(int n) {
    return plans.computeIfAbsent(n, DoubleFFT_1D::new);
  }

  private void ensureCapacity(int n) {
    if (specA.length < n) {
      specA = new double[n];
      specB = new double[n];
    }
  }

  /** Zero-padded copy of x, transformed in place into JTransforms' packed real format. */
  private static void forward(DoubleFFT_1D fft, double[] x, double[] spec, int n) {
    System.arraycopy(x, 0, spec, 0, x.length);
    java.util.Arrays.fill(spec, x.length, n, 0.0);
    fft.realForward(spec);
  }

  /** x := x * y pointwise, packed format (n even): [Re X0, Re X(n/2), Re X1, Im X1, ...]. */
  private static void multiplyInto(double[] x, double[] y, int n) {
    x[0] *= y[0];
    x[1] *= y[1];
    for (int k = 2; k < n; k += 2) {
      double xr = x[k];
      double xi = x[k + 1];
      double yr = y[k];
      double yi = y[k + 1];
      x[k] = xr * yr - xi * yi;
      x[k + 1] = xr * yi + xi * yr;
    }
  }

  private static double[] inverse(DoubleFFT_1D fft, double[] spec, int outLength) {
    fft.realInverse(spec, true);
    return java.util.Arrays.copyOf(spec, outLength);
  }

  static double[] direct(double[] a, double[] b) {
    double[] out = new double[a.length + b.length - 1];
    for (int i = 0; i < a.length; i++) {
      double ai = a[i];
      if (ai == 0) {
        continue;
      }
      for (int j = 0; j < b.length; j++) {
        out[i + j] += ai * b[j];
      }
    }
    return out;
  }

  /** The transform length used for an output of {@code length} values (package-visible for tests). */
  static int transformLength(int length) {
    if (length > (1 << 30)) {
      throw new IllegalArgumentException("convolution too long: " + length);
    }
    int pow2 = Math.max(16, Integer.highestOneBit(Math.max(1, length - 1)) << 1);
    int third = (length + 2) / 3; // 3 * 2^j >= length
    int pow3 = 3 * Math.max(16, Integer.highestOneBit(Math.max(1, third - 1)) << 1);
    return pow3 < pow2 ? pow3 : pow2;
  }
}

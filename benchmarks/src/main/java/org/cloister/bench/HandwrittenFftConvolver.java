package org.cloister.bench;

import java.util.HashMap;
import java.util.Map;

/**
 * The hand-written FFT convolver that {@code org.cloister.dp.math.FftConvolver} used before it moved
 * onto JTransforms (issue 16), kept here only as the benchmark's baseline: "ours" in
 * {@code cloister bench privacy}.
 *
 * <p>Original description: linear convolution of real sequences by fast Fourier transform.
 *
 * <p>A real sequence of (padded) length N is transformed with one complex FFT of length N/2
 * (even samples as real parts, odd samples as imaginary parts, then separated), so a convolution
 * costs three complex FFTs of half length and a squaring two. N is the smallest of 2^k and
 * 3 * 2^k that holds the result, which wastes less padding than powers of two alone. The complex
 * FFT is iterative and in place: radix-4 passes (radix-2 for the first and possibly last stage),
 * run block by block while sub-transforms fit in cache, plus one radix-3 pass for lengths
 * 3 * 2^k. Twiddle factors are computed directly (no recurrences) from angles in [0, pi/4].
 *
 * <p>Round-off: each output value carries an absolute error of about 1e-16 log2(N) times the
 * magnitude of the largest products; callers convolving probabilities clamp the tiny negative
 * results to zero. Speed relative to commons-math3's {@code FastFourierTransformer} is measured
 * by {@code cloister bench privacy} (docs/benchmarks.md).
 *
 * <p>Keeps plans and work buffers between calls: not thread-safe, use one instance per thread.
 */
public final class HandwrittenFftConvolver {

  /** Below this many multiply-adds the direct O(n*m) sum is used (it is exact and faster). */
  private static final long DIRECT_LIMIT = 1L << 14;
  /** Sub-transforms up to this many complex points are computed block by block. */
  private static final int BLOCK = 1 << 12;

  private final Map<Integer, RealPlan> plans = new HashMap<>();
  private final Map<Integer, PowerOfTwoFft> complexPlans = new HashMap<>();
  private double[] workRe = new double[0];
  private double[] workIm = new double[0];
  private double[] specARe = new double[0];
  private double[] specAIm = new double[0];
  private double[] specBRe = new double[0];
  private double[] specBIm = new double[0];

  /** {@code a * b}, of length {@code a.length + b.length - 1}. */
  public double[] convolve(double[] a, double[] b) {
    if (a.length == 0 || b.length == 0) {
      return new double[0];
    }
    int outLength = a.length + b.length - 1;
    if (isSmall(a.length, b.length)) {
      return direct(a, b);
    }
    RealPlan plan = plan(outLength);
    ensureCapacity(plan.m);
    plan.forward(a, workRe, workIm, specARe, specAIm);
    plan.forward(b, workRe, workIm, specBRe, specBIm);
    multiplyInto(specARe, specAIm, specBRe, specBIm, plan.m + 1);
    return plan.inverse(specARe, specAIm, workRe, workIm, outLength);
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
    RealPlan plan = plan(outLength);
    ensureCapacity(plan.m);
    plan.forward(a, workRe, workIm, specARe, specAIm);
    multiplyInto(specARe, specAIm, specARe, specAIm, plan.m + 1);
    return plan.inverse(specARe, specAIm, workRe, workIm, outLength);
  }

  /**
   * {@code {a * b, b * b}}, sharing the transform of b (four FFTs instead of five): the step of
   * repeated squaring that both multiplies the result by the current power and squares it.
   */
  public double[][] convolveAndSquare(double[] a, double[] b) {
    if (a.length == 0 || b.length == 0 || isSmall(a.length, b.length) || isSmall(b.length, b.length)) {
      return new double[][] {convolve(a, b), square(b)};
    }
    int productLength = a.length + b.length - 1;
    int squareLength = 2 * b.length - 1;
    RealPlan plan = plan(Math.max(productLength, squareLength));
    ensureCapacity(plan.m);
    plan.forward(b, workRe, workIm, specBRe, specBIm);
    plan.forward(a, workRe, workIm, specARe, specAIm);
    multiplyInto(specARe, specAIm, specBRe, specBIm, plan.m + 1);
    double[] product = plan.inverse(specARe, specAIm, workRe, workIm, productLength);
    multiplyInto(specBRe, specBIm, specBRe, specBIm, plan.m + 1);
    double[] square = plan.inverse(specBRe, specBIm, workRe, workIm, squareLength);
    return new double[][] {product, square};
  }

  private static boolean isSmall(int la, int lb) {
    return (long) la * lb <= DIRECT_LIMIT || Math.min(la, lb) <= 16;
  }

  private void ensureCapacity(int m) {
    if (workRe.length < m) {
      workRe = new double[m];
      workIm = new double[m];
      specARe = new double[m + 1];
      specAIm = new double[m + 1];
      specBRe = new double[m + 1];
      specBIm = new double[m + 1];
    }
  }

  private static void multiplyInto(double[] xr, double[] xi, double[] yr, double[] yi, int n) {
    for (int k = 0; k < n; k++) {
      double r = xr[k] * yr[k] - xi[k] * yi[k];
      double i = xr[k] * yi[k] + xi[k] * yr[k];
      xr[k] = r;
      xi[k] = i;
    }
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

  private RealPlan plan(int outLength) {
    int n = transformLength(outLength);
    return plans.computeIfAbsent(n, len -> new RealPlan(len, this));
  }

  private PowerOfTwoFft complexPlan(int size) {
    return complexPlans.computeIfAbsent(size, PowerOfTwoFft::new);
  }

  /** cos/sin(2 pi k / n) for k < count, from angles in [0, pi/4] (n divisible by 8). */
  private static void twiddles(int n, int count, double[] cos, double[] sin) {
    int eighth = n / 8;
    int quarter = n / 4;
    double[] c = new double[quarter + 1];
    double[] s = new double[quarter + 1];
    for (int k = 0; k <= eighth; k++) {
      double angle = 2 * Math.PI * k / n;
      c[k] = Math.cos(angle);
      s[k] = Math.sin(angle);
    }
    for (int k = eighth + 1; k <= quarter; k++) {
      c[k] = s[quarter - k];
      s[k] = c[quarter - k];
    }
    for (int k = 0; k < count; k++) {
      int r = k % quarter;
      int q = (k / quarter) & 3;
      switch (q) {
        case 0 -> {
          cos[k] = c[r];
          sin[k] = s[r];
        }
        case 1 -> {
          cos[k] = -s[r];
          sin[k] = c[r];
        }
        case 2 -> {
          cos[k] = -c[r];
          sin[k] = -s[r];
        }
        default -> {
          cos[k] = s[r];
          sin[k] = -c[r];
        }
      }
    }
  }

  /** Real transforms of length n = 2m, m a power of two or three times one. */
  private static final class RealPlan {
    final int n;
    final int m;
    private final double[] cos; // cos(2 pi k / n), k < m
    private final double[] sin;
    private final PowerOfTwoFft sub; // the power-of-two part: m or m/3
    private final boolean radix3;
    private final int part; // m / 3 when radix3
    private final double[] w1Cos; // W_m^k and W_m^2k, k < part (radix-3 pass)
    private final double[] w1Sin;
    private final double[] w2Cos;
    private final double[] w2Sin;

    RealPlan(int n, HandwrittenFftConvolver owner) {
      this.n = n;
      this.m = n / 2;
      this.cos = new double[m];
      this.sin = new double[m];
      twiddles(n, m, cos, sin);
      this.radix3 = Integer.bitCount(m) != 1;
      this.part = radix3 ? m / 3 : m;
      this.sub = owner.complexPlan(part);
      if (radix3) {
        w1Cos = new double[part];
        w1Sin = new double[part];
        w2Cos = new double[part];
        w2Sin = new double[part];
        for (int k = 0; k < part; k++) {
          // W_m^k = W_n^(2k)
          w1Cos[k] = cos[2 * k];
          w1Sin[k] = sin[2 * k];
          int k2 = 4 * k; // W_m^(2k) = W_n^(4k), 4k < 2m = n
          if (k2 < m) {
            w2Cos[k] = cos[k2];
            w2Sin[k] = sin[k2];
          } else {
            w2Cos[k] = -cos[k2 - m]; // W_n^(j + m) = -W_n^j
            w2Sin[k] = -sin[k2 - m];
          }
        }
      } else {
        w1Cos = w1Sin = w2Cos = w2Sin = null;
      }
    }

    /** Where complex input sample j goes before the in-place transform. */
    private int slot(int j) {
      return radix3 ? (j % 3) * part + j / 3 : j;
    }

    /** Writes the spectrum X[0..m] of {@code a} zero-padded to n into xr, xi. */
    void forward(double[] a, double[] re, double[] im, double[] xr, double[] xi) {
      int len = Math.min(a.length, n);
      java.util.Arrays.fill(re, 0, m, 0.0);
      java.util.Arrays.fill(im, 0, m, 0.0);
      if (radix3) {
        for (int j = 0; 2 * j < len; j++) {
          int s = slot(j);
          re[s] = a[2 * j];
          im[s] = 2 * j + 1 < len ? a[2 * j + 1] : 0;
        }
      } else {
        for (int j = 0; 2 * j < len; j++) {
          re[j] = a[2 * j];
          im[j] = 2 * j + 1 < len ? a[2 * j + 1] : 0;
        }
      }
      transform(re, im, -1);
      for (int k = 0; k <= m; k++) {
        int k1 = k == m ? 0 : k;
        int k2 = k == 0 ? 0 : m - k;
        double zr = re[k1];
        double zi = im[k1];
        double cr = re[k2];
        double ci = -im[k2];
        double er = 0.5 * (zr + cr);
        double ei = 0.5 * (zi + ci);
        double or = 0.5 * (zi - ci); // O = (Z - conj(Z[m-k])) / (2i)
        double oi = -0.5 * (zr - cr);
        double wr = k == m ? -1 : cos[k];
        double wi = k == m ? 0 : -sin[k];
        xr[k] = er + wr * or - wi * oi;
        xi[k] = ei + wr * oi + wi * or;
      }
    }

    /** The first {@code outLength} samples of the real sequence whose spectrum is X[0..m]. */
    double[] inverse(double[] xr, double[] xi, double[] re, double[] im, int outLength) {
      for (int k = 0; k < m; k++) {
        double pr = xr[k];
        double pi = xi[k];
        double cr = xr[m - k];
        double ci = -xi[m - k];
        double er = 0.5 * (pr + cr);
        double ei = 0.5 * (pi + ci);
        double dr = 0.5 * (pr - cr);
        double di = 0.5 * (pi - ci);
        double wr = cos[k]; // O = D W^-k
        double wi = sin[k];
        double or = dr * wr - di * wi;
        double oi = dr * wi + di * wr;
        int s = slot(k);
        re[s] = er - oi; // Z = E + i O
        im[s] = ei + or;
      }
      transform(re, im, 1);
      double scale = 1.0 / m;
      double[] out = new double[outLength];
      int pairs = outLength >> 1;
      for (int j = 0; j < pairs; j++) {
        out[2 * j] = re[j] * scale;
        out[2 * j + 1] = im[j] * scale;
      }
      if ((outLength & 1) != 0) {
        out[outLength - 1] = re[pairs] * scale;
      }
      return out;
    }

    /** Complex FFT of length m in place; for radix 3 the input is in slot() order. */
    private void transform(double[] re, double[] im, double sign) {
      if (!radix3) {
        sub.transform(re, im, 0, sign);
        return;
      }
      sub.transform(re, im, 0, sign);
      sub.transform(re, im, part, sign);
      sub.transform(re, im, 2 * part, sign);
      double h = sign * Math.sqrt(0.75); // sign * sqrt(3)/2
      for (int k = 0; k < part; k++) {
        int i1 = k + part;
        int i2 = k + 2 * part;
        double w1r = w1Cos[k];
        double w1i = sign * w1Sin[k];
        double w2r = w2Cos[k];
        double w2i = sign * w2Sin[k];
        double br = re[i1] * w1r - im[i1] * w1i;
        double bi = re[i1] * w1i + im[i1] * w1r;
        double cr = re[i2] * w2r - im[i2] * w2i;
        double ci = re[i2] * w2i + im[i2] * w2r;
        double sr = br + cr;
        double si = bi + ci;
        double dr = br - cr;
        double di = bi - ci;
        double ar = re[k];
        double ai = im[k];
        double mr = ar - 0.5 * sr;
        double mi = ai - 0.5 * si;
        re[k] = ar + sr;
        im[k] = ai + si;
        // X1 = a - s/2 + (sign i sqrt3/2) d, X2 = a - s/2 - (sign i sqrt3/2) d
        re[i1] = mr - h * di;
        im[i1] = mi + h * dr;
        re[i2] = mr + h * di;
        im[i2] = mi - h * dr;
      }
    }
  }

  /** In-place complex FFT of a power-of-two length (at least 8), natural order in and out. */
  private static final class PowerOfTwoFft {
    private final int size;
    /** For the stage of size len (4 <= len <= size): cos/sin(2 pi k / len), k < len/2, at len/2-2+k. */
    private final double[] stageCos;
    private final double[] stageSin;
    private final int[] bitReversed;

    PowerOfTwoFft(int size) {
      if (size < 8 || Integer.bitCount(size) != 1) {
        throw new IllegalArgumentException("complex FFT length must be a power of two >= 8, got " + size);
      }
      this.size = size;
      double[] cos = new double[size / 2];
      double[] sin = new double[size / 2];
      twiddles(size, size / 2, cos, sin);
      stageCos = new double[size - 2];
      stageSin = new double[size - 2];
      for (int len = 4; len <= size; len <<= 1) {
        int half = len >> 1;
        int stride = size / len;
        for (int k = 0; k < half; k++) {
          stageCos[half - 2 + k] = cos[k * stride];
          stageSin[half - 2 + k] = sin[k * stride];
        }
      }
      bitReversed = new int[size];
      int bits = Integer.numberOfTrailingZeros(size);
      for (int i = 0; i < size; i++) {
        bitReversed[i] = Integer.reverse(i) >>> (32 - bits);
      }
    }

    /** Transforms re/im[offset .. offset + size) in place; sign -1 forward, +1 inverse. */
    void transform(double[] re, double[] im, int offset, double sign) {
      for (int i = 0; i < size; i++) {
        int j = bitReversed[i];
        if (j > i) {
          int a = offset + i;
          int b = offset + j;
          double t = re[a];
          re[a] = re[b];
          re[b] = t;
          t = im[a];
          im[a] = im[b];
          im[b] = t;
        }
      }
      int end = offset + size;
      for (int i = offset; i < end; i += 2) {
        double ar = re[i];
        double ai = im[i];
        double br = re[i + 1];
        double bi = im[i + 1];
        re[i] = ar + br;
        im[i] = ai + bi;
        re[i + 1] = ar - br;
        im[i + 1] = ai - bi;
      }
      int block = Math.min(size, BLOCK);
      for (int start = offset; start < end; start += block) {
        for (int s = 2; 4 * s <= block; s *= 4) {
          radix4Pass(re, im, s, start, start + block, sign);
        }
      }
      int done = 2;
      while (4 * done <= block) {
        done *= 4;
      }
      while (4 * done <= size) {
        radix4Pass(re, im, done, offset, end, sign);
        done *= 4;
      }
      if (2 * done <= size) {
        radix2Pass(re, im, done, offset, end, sign);
      }
    }

    /** Merges groups of four sub-transforms of size s into transforms of size 4s. */
    private void radix4Pass(double[] re, double[] im, int s, int from, int to, double sign) {
      int off2 = s - 2; // stage of size 2s: W_2s^k
      int off4 = 2 * s - 2; // stage of size 4s: W_4s^k
      for (int base = from; base < to; base += 4 * s) {
        for (int k = 0; k < s; k++) {
          int i0 = base + k;
          int i1 = i0 + s;
          int i2 = i1 + s;
          int i3 = i2 + s;
          double w1r = stageCos[off2 + k];
          double w1i = sign * stageSin[off2 + k];
          double w2r = stageCos[off4 + k];
          double w2i = sign * stageSin[off4 + k];
          double b1r = re[i1] * w1r - im[i1] * w1i;
          double b1i = re[i1] * w1i + im[i1] * w1r;
          double a0r = re[i0] + b1r;
          double a0i = im[i0] + b1i;
          double a1r = re[i0] - b1r;
          double a1i = im[i0] - b1i;
          double b3r = re[i3] * w1r - im[i3] * w1i;
          double b3i = re[i3] * w1i + im[i3] * w1r;
          double a2r = re[i2] + b3r;
          double a2i = im[i2] + b3i;
          double a3r = re[i2] - b3r;
          double a3i = im[i2] - b3i;
          double c2r = a2r * w2r - a2i * w2i;
          double c2i = a2r * w2i + a2i * w2r;
          double c3r = a3r * w2r - a3i * w2i;
          double c3i = a3r * w2i + a3i * w2r;
          double d3r = -sign * c3i; // W_4s^(k+s) = (sign i) W_4s^k
          double d3i = sign * c3r;
          re[i0] = a0r + c2r;
          im[i0] = a0i + c2i;
          re[i2] = a0r - c2r;
          im[i2] = a0i - c2i;
          re[i1] = a1r + d3r;
          im[i1] = a1i + d3i;
          re[i3] = a1r - d3r;
          im[i3] = a1i - d3i;
        }
      }
    }

    /** Merges pairs of sub-transforms of size s into transforms of size 2s. */
    private void radix2Pass(double[] re, double[] im, int s, int from, int to, double sign) {
      int off = s - 2;
      for (int base = from; base < to; base += 2 * s) {
        for (int k = 0; k < s; k++) {
          double wr = stageCos[off + k];
          double wi = sign * stageSin[off + k];
          int a = base + k;
          int b = a + s;
          double br = re[b] * wr - im[b] * wi;
          double bi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - br;
          im[b] = im[a] - bi;
          re[a] += br;
          im[a] += bi;
        }
      }
    }
  }
}

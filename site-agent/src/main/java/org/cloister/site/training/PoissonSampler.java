package org.cloister.site.training;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Poisson sampling: every example joins the batch independently with probability q, so the batch
 * size is Binomial(n, q) and may be zero. This is the sampling the privacy accountant assumes.
 */
final class PoissonSampler {
  private PoissonSampler() {
  }

  /** Indices (ascending) of the examples sampled from {@code 0..n-1}. */
  static int[] sample(int n, double q, RandomGenerator rng) {
    if (n < 0) {
      throw new IllegalArgumentException("n must be >= 0, got " + n);
    }
    if (!(q >= 0 && q <= 1)) {
      throw new IllegalArgumentException("sampling rate must be in [0, 1], got " + q);
    }
    if (q == 0 || n == 0) {
      return new int[0];
    }
    if (q == 1) {
      int[] all = new int[n];
      Arrays.setAll(all, i -> i);
      return all;
    }
    int[] out = new int[Math.max(16, (int) Math.min(n, q * n + 6 * Math.sqrt(q * n) + 16))];
    int size = 0;
    if (q >= 0.25) {
      // one uniform per example, all random bytes drawn in one call (a SecureRandom serves bulk
      // requests far faster than one call per example); u = 53 random bits / 2^53, as nextDouble()
      byte[] bytes = new byte[8 * n];
      rng.nextBytes(bytes);
      ByteBuffer bb = ByteBuffer.wrap(bytes);
      for (int i = 0; i < n; i++) {
        double u = (bb.getLong() >>> 11) * 0x1.0p-53;
        if (u < q) {
          if (size == out.length) {
            out = Arrays.copyOf(out, Math.min(n, out.length * 2));
          }
          out[size++] = i;
        }
      }
    } else {
      // gaps between inclusions of independent Bernoulli(q) trials are Geometric(q):
      // skip = floor(log(U) / log(1 - q)), U uniform in (0, 1]
      double logNotQ = Math.log1p(-q);
      long i = -1;
      while (true) {
        double u = 1.0 - rng.nextDouble(); // (0, 1]
        double skip = Math.floor(Math.log(u) / logNotQ);
        if (skip >= n) {
          break;
        }
        i += (long) skip + 1;
        if (i >= n) {
          break;
        }
        if (size == out.length) {
          out = Arrays.copyOf(out, Math.min(n, out.length * 2));
        }
        out[size++] = (int) i;
      }
    }
    return Arrays.copyOf(out, size);
  }
}

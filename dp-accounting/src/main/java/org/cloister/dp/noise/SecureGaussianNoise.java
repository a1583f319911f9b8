package org.cloister.dp.noise;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * Gaussian noise for differential privacy, driven by a cryptographically secure generator and
 * hardened against floating-point attacks. Not thread-safe: use one instance per thread.
 *
 * <h2>Randomness</h2>
 * Uniform bits come from AES-256 in counter mode with fast key erasure ({@link AesCtrRandom}).
 * {@link #fromOsEntropy()} keys it from the operating system's entropy ({@link SecureRandom});
 * {@link #seeded(long)} keys it from SHA-256 of the seed, for reproducible simulations only (a
 * seed of 64 bits is guessable: never release data noised with a seeded instance). Standard
 * normal variates are produced by a 256-layer ziggurat ({@link Ziggurat}) using 64 random bits
 * per sample on the fast path.
 *
 * <h2>Floating-point attacks and the mitigation</h2>
 * Mironov (CCS 2012) showed that textbook Laplace samplers computed in floating point leave
 * "holes": the set of doubles that {@code x + noise} can take depends on {@code x}, so a single
 * output can reveal the input exactly. Jin, McMurtry, Rubinstein, Ohrimenko ("Are We There Yet?
 * Timing and Floating-Point Attacks on Differential Privacy Systems", IEEE S&amp;P 2022) showed the
 * same for Gaussian samplers (Box-Muller, polar, ziggurat as used in common DP libraries):
 * both the noise's own float grid and the rounding of {@code x + noise} leak. The cure is to make
 * the set of possible outputs independent of the input. {@link #addTo(double[], double)} and
 * {@link #addTo(float[], double)} therefore release
 * <pre>  y = gamma * (round(x / gamma) + round(sigma * Z / gamma))</pre>
 * with {@code gamma = 2^(ceil(log2 sigma) - 36)}, a power of two (a variant of Mironov's
 * snapping mechanism). Both terms are integers below 2^53, so their sum and the scaling by gamma
 * are exact: every output lies on the grid gamma * Z whatever x is, and equals the continuous
 * Gaussian mechanism applied to {@code round(x / gamma) gamma} and then rounded to the grid —
 * post-processing, so the accountants' guarantees apply with the sensitivity increased by at
 * most {@code gamma / 2 < 2^-36 sigma} per coordinate (an L2 increase below
 * {@code 2^-36 sigma sqrt(d)}, i.e. 1.5e-7 sigma for d = 10^8 coordinates, negligible).
 * The rounding of sigma * Z needs Z to
 * 2^-36 relative resolution; the ziggurat supplies about 2^-53. Inputs are clamped to
 * {@code |x| <= 2^52 gamma} (at least 65536 sigma), which keeps the sum exact; clamping does not
 * increase sensitivity. For {@code float[]} targets the exact double result is rounded to float,
 * again post-processing of a released value.
 */
public final class SecureGaussianNoise implements GaussianNoise, java.util.random.RandomGenerator {

  /** gamma = 2^(ceil(log2 sigma) - RESOLUTION_BITS). */
  static final int RESOLUTION_BITS = 36;

  private final AesCtrRandom random;

  private SecureGaussianNoise(byte[] key) {
    this.random = new AesCtrRandom(key);
  }

  /** Noise keyed from the operating system's entropy: for production. */
  public static SecureGaussianNoise fromOsEntropy() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return new SecureGaussianNoise(key);
  }

  /** Reproducible noise for simulations and tests (the seed is hashed into an AES key). */
  public static SecureGaussianNoise seeded(long seed) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update("cloister/dp/secure-gaussian-noise/v1".getBytes(StandardCharsets.US_ASCII));
      sha.update(ByteBuffer.allocate(8).putLong(seed).array());
      return new SecureGaussianNoise(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }

  /** One raw N(0, 1) sample (not snapped: release noised values through addTo). */
  @Override
  public double nextStandard() {
    return Ziggurat.sample(random);
  }

  /**
   * 64 uniform bits from the AES-256-CTR stream: the bit source of the exact discrete Gaussian
   * ({@link DiscreteGaussian}, {@link GridGaussian}).
   */
  @Override
  public long nextLong() {
    return random.nextLong();
  }

  /** The output grid for noise of standard deviation {@code stddev}. */
  public static double granularity(double stddev) {
    checkStddev(stddev);
    return Math.scalb(1.0, Math.getExponent(stddev) + (isPowerOfTwo(stddev) ? 0 : 1) - RESOLUTION_BITS);
  }

  @Override
  public void addTo(double[] target, double stddev) {
    checkStddev(stddev);
    if (stddev == 0) {
      return;
    }
    double gamma = granularity(stddev);
    double inverse = 1 / gamma; // exact: a power of two
    double bound = 0x1.0p52;
    double scaled = stddev * inverse;
    for (int i = 0; i < target.length; i++) {
      target[i] = snapAdd(target[i], inverse, gamma, bound, scaled);
    }
  }

  @Override
  public void addTo(float[] target, double stddev) {
    checkStddev(stddev);
    if (stddev == 0) {
      return;
    }
    double gamma = granularity(stddev);
    double inverse = 1 / gamma;
    double bound = 0x1.0p52;
    double scaled = stddev * inverse;
    for (int i = 0; i < target.length; i++) {
      target[i] = (float) snapAdd(target[i], inverse, gamma, bound, scaled);
    }
  }

  /** {@code value} plus snapped N(0, stddev^2) noise (see the class comment). */
  public double addTo(double value, double stddev) {
    double[] one = {value};
    addTo(one, stddev);
    return one[0];
  }

  private double snapAdd(double x, double inverse, double gamma, double bound, double scaled) {
    if (Double.isNaN(x)) {
      throw new IllegalArgumentException("cannot noise NaN");
    }
    double grid = Math.rint(x * inverse);
    if (grid > bound) {
      grid = bound;
    } else if (grid < -bound) {
      grid = -bound;
    }
    double noise = Math.rint(scaled * Ziggurat.sample(random));
    return (grid + noise) * gamma;
  }

  private static boolean isPowerOfTwo(double v) {
    return v == Math.scalb(1.0, Math.getExponent(v));
  }

  private static void checkStddev(double stddev) {
    if (!(stddev >= 0) || Double.isInfinite(stddev)) {
      throw new IllegalArgumentException("noise standard deviation must be a finite number >= 0, got " + stddev);
    }
    if (stddev != 0 && stddev < 0x1.0p-900) {
      throw new IllegalArgumentException("noise standard deviation " + stddev + " is too small to snap");
    }
  }
}

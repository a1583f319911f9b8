package org.cloister.dp.noise;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * The discrete Gaussian N_Z(0, sigma^2) on the integers, P(k) proportional to
 * exp(-k^2 / (2 sigma^2)), sampled <b>exactly</b>: Canonne, Kamath and Steinke, "The Discrete
 * Gaussian for Differential Privacy" (NeurIPS 2020), Algorithms 1-3. sigma^2 is an exact rational
 * and every decision is a comparison of a uniform integer with an integer, so the output
 * distribution is the ideal one given ideal uniform bits: no floating point anywhere.
 *
 * <p>Uniform bits come from the given {@link RandomGenerator}'s {@code nextLong()} (production:
 * {@link SecureGaussianNoise}, AES-256-CTR). Immutable; thread-safe when each thread uses its own
 * generator.
 */
public final class DiscreteGaussian {

  private static final BigInteger TWO = BigInteger.TWO;

  private final BigInteger varianceNum;
  private final BigInteger varianceDen;
  /** t = floor(sigma) + 1, the discrete Laplace scale of the proposal. */
  private final long t;
  /** Acceptance exponent gamma(|Y|) = (|Y| t D - N)^2 / (2 N t^2 D); the denominator. */
  private final BigInteger gammaDen;
  private final BigInteger tD;

  /** N_Z(0, num/den); num, den > 0, sigma = sqrt(num/den) below 2^60. */
  public DiscreteGaussian(BigInteger varianceNum, BigInteger varianceDen) {
    Objects.requireNonNull(varianceNum, "varianceNum");
    Objects.requireNonNull(varianceDen, "varianceDen");
    if (varianceNum.signum() <= 0 || varianceDen.signum() <= 0) {
      throw new IllegalArgumentException("discrete Gaussian variance must be a positive rational, got "
          + varianceNum + "/" + varianceDen);
    }
    BigInteger g = varianceNum.gcd(varianceDen);
    this.varianceNum = varianceNum.divide(g);
    this.varianceDen = varianceDen.divide(g);
    BigInteger floorSigma = this.varianceNum.divide(this.varianceDen).sqrt(); // floor(sqrt(floor(x))) = floor(sqrt(x))
    if (floorSigma.bitLength() > 60) {
      throw new IllegalArgumentException("discrete Gaussian sigma too large (>= 2^60): " + varianceNum + "/" + varianceDen);
    }
    this.t = floorSigma.longValueExact() + 1;
    BigInteger bt = BigInteger.valueOf(t);
    this.tD = bt.multiply(this.varianceDen);
    this.gammaDen = TWO.multiply(this.varianceNum).multiply(bt).multiply(bt).multiply(this.varianceDen);
  }

  /** N_Z(0, variance) for a variance given exactly as a BigDecimal (e.g. built from doubles). */
  public static DiscreteGaussian ofVariance(BigDecimal variance) {
    if (variance.signum() <= 0) {
      throw new IllegalArgumentException("discrete Gaussian variance must be positive, got " + variance);
    }
    BigDecimal v = variance.stripTrailingZeros();
    if (v.scale() <= 0) {
      return new DiscreteGaussian(v.toBigIntegerExact(), BigInteger.ONE);
    }
    return new DiscreteGaussian(v.unscaledValue(), BigInteger.TEN.pow(v.scale()));
  }

  /** sigma^2 as a double (for reporting). */
  public double variance() {
    return new BigDecimal(varianceNum).divide(new BigDecimal(varianceDen), java.math.MathContext.DECIMAL64).doubleValue();
  }

  /** One exact sample. */
  public long sample(RandomGenerator bits) {
    while (true) {
      long y = discreteLaplace(bits);
      // accept with probability exp(-(|Y| - sigma^2/t)^2 / (2 sigma^2))
      BigInteger diff = BigInteger.valueOf(Math.abs(y)).multiply(tD).subtract(varianceNum);
      if (bernoulliExp(diff.multiply(diff), gammaDen, bits)) {
        return y;
      }
    }
  }

  /** Fills {@code out} with independent samples. */
  public void sample(long[] out, RandomGenerator bits) {
    for (int i = 0; i < out.length; i++) {
      out[i] = sample(bits);
    }
  }

  /** Discrete Laplace with P(y) proportional to exp(-|y| / t) (CKS Algorithm 2 with s = 1). */
  private long discreteLaplace(RandomGenerator bits) {
    while (true) {
      long u = uniform(t, bits);
      if (!bernoulliExpSmall(u, t, bits)) {
        continue;
      }
      long v = 0;
      while (bernoulliExpSmall(1, 1, bits)) {
        v++;
      }
      long x = Math.addExact(u, Math.multiplyExact(t, v));
      boolean negative = (bits.nextLong() & 1) != 0;
      if (negative && x == 0) {
        continue;
      }
      return negative ? -x : x;
    }
  }

  /** Bernoulli(exp(-num/den)) for 0 <= num/den <= 1 with small (long) operands (CKS Algorithm 1). */
  private static boolean bernoulliExpSmall(long num, long den, RandomGenerator bits) {
    long k = 1;
    while (true) {
      // Bernoulli(num / (den k)): uniform below den*k compared with num
      long bound = Math.multiplyExact(den, k);
      if (uniform(bound, bits) >= num) {
        break;
      }
      k++;
    }
    return (k & 1) == 1;
  }

  /** Bernoulli(exp(-num/den)) for any rational num/den >= 0 (CKS Algorithm 1). */
  static boolean bernoulliExp(BigInteger num, BigInteger den, RandomGenerator bits) {
    BigInteger[] qr = num.divideAndRemainder(den);
    BigInteger whole = qr[0];
    for (BigInteger i = BigInteger.ZERO; i.compareTo(whole) < 0; i = i.add(BigInteger.ONE)) {
      if (!bernoulliExpSmall(1, 1, bits)) {
        return false;
      }
    }
    BigInteger rest = qr[1];
    if (rest.signum() == 0) {
      return true;
    }
    long k = 1;
    while (true) {
      BigInteger bound = den.multiply(BigInteger.valueOf(k));
      if (uniform(bound, bits).compareTo(rest) >= 0) {
        break;
      }
      k++;
    }
    return (k & 1) == 1;
  }

  /** Uniform in [0, bound), bound > 0, by rejection (unbiased). */
  static long uniform(long bound, RandomGenerator bits) {
    if ((bound & (bound - 1)) == 0) {
      return bits.nextLong() & (bound - 1);
    }
    long mask = -1L >>> Long.numberOfLeadingZeros(bound - 1);
    while (true) {
      long r = bits.nextLong() & mask;
      if (r < bound) {
        return r;
      }
    }
  }

  /** Uniform in [0, bound), bound > 0, by rejection (unbiased). */
  static BigInteger uniform(BigInteger bound, RandomGenerator bits) {
    if (bound.bitLength() < 63) {
      return BigInteger.valueOf(uniform(bound.longValueExact(), bits));
    }
    int bitLength = bound.bitLength();
    int words = (bitLength + 63) / 64;
    int excess = words * 64 - bitLength;
    byte[] buf = new byte[words * 8];
    while (true) {
      for (int w = 0; w < words; w++) {
        long r = bits.nextLong();
        for (int b = 0; b < 8; b++) {
          buf[w * 8 + b] = (byte) (r >>> (8 * b));
        }
      }
      BigInteger r = new BigInteger(1, buf).shiftRight(excess); // bitLength uniform bits
      if (r.compareTo(bound) < 0) {
        return r;
      }
    }
  }

  @Override
  public String toString() {
    return "DiscreteGaussian[sigma^2=" + varianceNum + "/" + varianceDen + "]";
  }
}

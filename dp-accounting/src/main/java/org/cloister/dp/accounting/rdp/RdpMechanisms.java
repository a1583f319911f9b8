package org.cloister.dp.accounting.rdp;

import org.cloister.dp.math.ErrorFunction;
import org.cloister.dp.math.LogSpace;

/**
 * Rényi-DP curves of the mechanisms the RDP accountant understands, under add-or-remove-one
 * adjacency, all with sensitivity 1.
 */
final class RdpMechanisms {

  /** Terms of the fractional-order series below exp(-30) (A >= 1) are negligible (as in dp_accounting). */
  private static final double LOG_NEGLIGIBLE = -30.0;
  private static final int MAX_SERIES_TERMS = 5_000_000;
  /** Largest order accepted (the integer-order sum has alpha terms). */
  static final double MAX_ORDER = 1e6;
  private static final double LOG_HALF = Math.log(0.5);
  private static final double SQRT2 = Math.sqrt(2.0);

  private RdpMechanisms() {
  }

  /** The Gaussian mechanism: RDP(alpha) = alpha / (2 sigma^2) (Mironov 2017, Prop. 7). */
  static double gaussian(double sigma, double alpha) {
    if (sigma == 0) {
      return Double.POSITIVE_INFINITY;
    }
    return alpha / (2 * sigma * sigma);
  }

  /**
   * The Laplace mechanism with scale b (Mironov 2017, Table II): for alpha > 1,
   * {@code 1/(alpha-1) log(alpha/(2alpha-1) e^{(alpha-1)/b} + (alpha-1)/(2alpha-1) e^{-alpha/b})}.
   */
  static double laplace(double b, double alpha) {
    if (b == 0) {
      return Double.POSITIVE_INFINITY;
    }
    double first = Math.log(alpha / (2 * alpha - 1)) + (alpha - 1) / b;
    double second = Math.log((alpha - 1) / (2 * alpha - 1)) - alpha / b;
    return LogSpace.add(first, second) / (alpha - 1);
  }

  /**
   * The Poisson-subsampled Gaussian mechanism (Mironov, Talwar, Zhang 2019, "Rényi Differential
   * Privacy of the Sampled Gaussian Mechanism"): {@code log(A_alpha) / (alpha - 1)}.
   */
  static double subsampledGaussian(double q, double sigma, double alpha) {
    if (q == 0) {
      return 0.0;
    }
    if (sigma == 0) {
      return Double.POSITIVE_INFINITY;
    }
    if (q == 1.0) {
      return gaussian(sigma, alpha);
    }
    return logA(q, sigma, alpha) / (alpha - 1);
  }

  /** {@code log A_alpha} for 0 < q < 1, sigma > 0, alpha > 1. */
  static double logA(double q, double sigma, double alpha) {
    if (alpha == Math.rint(alpha) && alpha <= MAX_ORDER) {
      return logAInteger(q, sigma, (long) alpha);
    }
    return logAFractional(q, sigma, alpha);
  }

  /**
   * Integer order: the binomial expansion A = sum_k C(a,k) (1-q)^(a-k) q^k exp((k^2-k)/(2 s^2)).
   * Because the binomial weights sum to one and the k = 0, 1 exponents vanish, A - 1 is summed
   * instead, from positive terms only: A - 1 = sum_{k>=2} C(a,k) (1-q)^(a-k) q^k expm1(...). This
   * keeps log A accurate to the last bits when it is tiny (q down to 1e-7).
   */
  static double logAInteger(double q, double sigma, long alpha) {
    double logQ = Math.log(q);
    double log1mQ = Math.log1p(-q);
    double twoSigma2 = 2 * sigma * sigma;
    double logBinom = Math.log((double) alpha); // log C(alpha, 1)
    double max = Double.NEGATIVE_INFINITY; // running log-sum-exp of the terms
    double scaledSum = 0;
    for (long k = 2; k <= alpha; k++) {
      logBinom += Math.log((double) (alpha - k + 1)) - Math.log((double) k);
      double t = logBinom + k * logQ + (alpha - k) * log1mQ + logExpm1((k * k - k) / twoSigma2);
      if (t > max) {
        scaledSum = scaledSum * Math.exp(max - t) + 1.0;
        max = t;
      } else {
        scaledSum += Math.exp(t - max);
      }
    }
    if (max == Double.NEGATIVE_INFINITY) {
      return 0.0;
    }
    double logAMinus1 = max + Math.log(scaledSum);
    return LogSpace.add(0.0, logAMinus1);
  }

  /**
   * Fractional order: the two-part series of Mironov, Talwar, Zhang (2019, Sec. 3.3), split at
   * z0 = sigma^2 log(1/q - 1) + 1/2. The generalized binomial coefficients C(alpha, i) change sign
   * for i > alpha; every term is added with its sign (in log space). The series is cut once both
   * terms fall below exp(-30) and then <b>rounded up</b> by a bound on the whole omitted tail
   * (absolute values), so the result is an upper bound on A:
   * <pre>
   * sum_{i>N} |S0_i| + |S1_i| <= (1-q)^alpha exp(-z0^2/(2 sigma^2)) |C(alpha, N+1)| (1 + (N+1)/alpha)
   *                              * (g((N+1-z0)/(sqrt2 sigma)) + g((N+1-alpha+z0)/(sqrt2 sigma))) / 2
   * </pre>
   * with {@code g(x) = min(1, 1/(x sqrt(pi)))}, valid for {@code N+1 > alpha}, {@code N+1 > z0},
   * {@code N+1 > alpha - z0}. Proof: {@code erfc(x) <= exp(-x^2) g(x)} for x > 0; with
   * {@code z0 = sigma^2 log(1/q-1) + 1/2} the exponent of each term then collapses to
   * {@code (1-q)^alpha exp(-z0^2/(2 sigma^2))}; {@code |C(alpha,i)| <= |C(alpha,N+1)| ((N+1)/i)^(alpha+1)}
   * for i > N+1 > alpha (Bernoulli's inequality), and the sum of {@code ((N+1)/i)^(alpha+1)} over
   * i >= N+1 is at most {@code 1 + (N+1)/alpha}.
   */
  static double logAFractional(double q, double sigma, double alpha) {
    return logAFractional(q, sigma, alpha, LOG_NEGLIGIBLE, true);
  }

  /** The series cut at terms below exp(logNegligible), with or without the tail bound (tests). */
  static double logAFractional(double q, double sigma, double alpha, double logNegligible, boolean boundTail) {
    double logQ = Math.log(q);
    double log1mQ = Math.log1p(-q);
    double sigma2 = sigma * sigma;
    double z0 = sigma2 * Math.log(1 / q - 1) + 0.5;
    double erfcScale = 1 / (SQRT2 * sigma);
    LogSpace.SignedSum a0 = new LogSpace.SignedSum();
    LogSpace.SignedSum a1 = new LogSpace.SignedSum();
    double logAbsBinom = 0; // log |C(alpha, 0)|
    int sign = 1;
    for (int i = 0; i < MAX_SERIES_TERMS; i++) {
      double j = alpha - i;
      double logT0 = logAbsBinom + i * logQ + j * log1mQ;
      double logT1 = logAbsBinom + j * logQ + i * log1mQ;
      double logE0 = LOG_HALF + ErrorFunction.logErfc((i - z0) * erfcScale);
      double logE1 = LOG_HALF + ErrorFunction.logErfc((z0 - j) * erfcScale);
      double logS0 = logT0 + (i * (double) i - i) / (2 * sigma2) + logE0;
      double logS1 = logT1 + (j * j - j) / (2 * sigma2) + logE1;
      a0.add(sign, logS0);
      a1.add(sign, logS1);
      double next = i + 1.0;
      if (i > alpha && next > z0 && next > alpha - z0 && Math.max(logS0, logS1) < logNegligible) {
        double logBinomNext = logAbsBinom + Math.log(Math.abs(alpha - i)) - Math.log(next);
        double g0 = tailFactor((next - z0) * erfcScale);
        double g1 = tailFactor((next - alpha + z0) * erfcScale);
        double logTail = alpha * log1mQ - z0 * z0 / (2 * sigma2) + logBinomNext + Math.log1p(next / alpha)
            + Math.log(0.5 * (g0 + g1));
        if (boundTail && logTail >= logNegligible - 2) {
          // keep summing until the bound on the omitted tail is itself negligible (below e^-32)
          logAbsBinom = logBinomNext;
          if (alpha - i < 0) {
            sign = -sign;
          }
          continue;
        }
        LogSpace.SignedSum total = new LogSpace.SignedSum();
        total.add(a0.isNegative() ? -1 : 1, a0.logMagnitude());
        total.add(a1.isNegative() ? -1 : 1, a1.logMagnitude());
        if (boundTail) {
          total.add(1, logTail + 1e-9); // rounded up (relative 1e-9 covers the arithmetic)
        }
        if (total.isNegative()) {
          throw new ArithmeticException("A_alpha series summed to a negative value for q=" + q
              + ", sigma=" + sigma + ", alpha=" + alpha);
        }
        return Math.max(0.0, total.logMagnitude());
      }
      // C(alpha, i+1) = C(alpha, i) * (alpha - i) / (i + 1)
      double factor = alpha - i;
      logAbsBinom += Math.log(Math.abs(factor)) - Math.log(i + 1.0);
      if (factor < 0) {
        sign = -sign;
      }
    }
    throw new ArithmeticException("A_alpha series did not converge in " + MAX_SERIES_TERMS
        + " terms for q=" + q + ", sigma=" + sigma + ", alpha=" + alpha);
  }

  /** min(1, 1/(x sqrt(pi))) for x > 0: erfc(x) <= exp(-x^2) times this. */
  private static double tailFactor(double x) {
    return Math.min(1.0, 1.0 / (x * Math.sqrt(Math.PI)));
  }

  /** log(e^x - 1) for x >= 0 (-inf at 0). */
  private static double logExpm1(double x) {
    if (x == 0) {
      return Double.NEGATIVE_INFINITY;
    }
    if (x > 40) {
      return x + Math.log1p(-Math.exp(-x));
    }
    return Math.log(Math.expm1(x));
  }
}

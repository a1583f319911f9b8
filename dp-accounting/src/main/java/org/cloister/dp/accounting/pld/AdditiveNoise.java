package org.cloister.dp.accounting.pld;

import org.cloister.dp.math.ErrorFunction;

/**
 * Additive noise of sensitivity 1: the pair "noise centred at 1" vs "noise centred at 0" with
 * base privacy loss {@code l(o) = log(f(o - 1) / f(o))}, non-decreasing in the outcome o.
 */
abstract sealed class AdditiveNoise permits AdditiveNoise.Gaussian, AdditiveNoise.Laplace {

  /** Smallest and largest values of the base loss l (may be infinite). */
  abstract double minBaseLoss();

  abstract double maxBaseLoss();

  /** The base loss at outcome o. */
  abstract double baseLoss(double o);

  /** {@code sup {o : l(o) <= c}} (-inf if empty, +inf if all). */
  abstract double outcomeAtMostLoss(double c);

  /** {@code inf {o : l(o) >= c}} (+inf if empty, -inf if all). */
  abstract double outcomeAtLeastLoss(double c);

  /**
   * Writes {@code P(X <= o)} to {@code out[0]} and {@code P(X > o)} to {@code out[1]} for X the
   * noise centred at {@code mean}; the smaller of the two is accurate to relative rounding error.
   */
  abstract void tails(double o, double mean, double[] out);

  /** A t >= 0 with {@code P(X - mean > t) <= p} (by symmetry also for the lower tail). */
  abstract double tailBound(double p);

  /** N(mean, sigma^2). */
  static final class Gaussian extends AdditiveNoise {
    private final double sigma;

    Gaussian(double sigma) {
      this.sigma = sigma;
    }

    @Override
    double minBaseLoss() {
      return Double.NEGATIVE_INFINITY;
    }

    @Override
    double maxBaseLoss() {
      return Double.POSITIVE_INFINITY;
    }

    @Override
    double baseLoss(double o) {
      return (2 * o - 1) / (2 * sigma * sigma);
    }

    @Override
    double outcomeAtMostLoss(double c) {
      return c * sigma * sigma + 0.5;
    }

    @Override
    double outcomeAtLeastLoss(double c) {
      return c * sigma * sigma + 0.5;
    }

    @Override
    void tails(double o, double mean, double[] out) {
      double z = (o - mean) / sigma;
      if (z >= 0) {
        out[1] = ErrorFunction.normalSf(z);
        out[0] = 1 - out[1];
      } else {
        out[0] = ErrorFunction.normalSf(-z);
        out[1] = 1 - out[0];
      }
    }

    @Override
    double tailBound(double p) {
      // Chernoff: P(Z > z) <= exp(-z^2 / 2)
      return sigma * Math.sqrt(2 * Math.log(1 / p));
    }
  }

  /** Laplace(mean, b): density exp(-|o - mean| / b) / (2b). */
  static final class Laplace extends AdditiveNoise {
    private final double b;

    Laplace(double b) {
      this.b = b;
    }

    @Override
    double minBaseLoss() {
      return -1 / b;
    }

    @Override
    double maxBaseLoss() {
      return 1 / b;
    }

    @Override
    double baseLoss(double o) {
      return (Math.abs(o) - Math.abs(o - 1)) / b;
    }

    @Override
    double outcomeAtMostLoss(double c) {
      if (c < -1 / b) {
        return Double.NEGATIVE_INFINITY;
      }
      if (c >= 1 / b) {
        return Double.POSITIVE_INFINITY;
      }
      return (b * c + 1) / 2;
    }

    @Override
    double outcomeAtLeastLoss(double c) {
      if (c <= -1 / b) {
        return Double.NEGATIVE_INFINITY;
      }
      if (c > 1 / b) {
        return Double.POSITIVE_INFINITY;
      }
      return (b * c + 1) / 2;
    }

    @Override
    void tails(double o, double mean, double[] out) {
      double y = o - mean;
      if (y >= 0) {
        out[1] = 0.5 * Math.exp(-y / b);
        out[0] = 1 - out[1];
      } else {
        out[0] = 0.5 * Math.exp(y / b);
        out[1] = 1 - out[0];
      }
    }

    @Override
    double tailBound(double p) {
      return b * Math.log(1 / (2 * p));
    }
  }
}

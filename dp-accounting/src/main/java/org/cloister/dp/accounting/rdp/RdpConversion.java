package org.cloister.dp.accounting.rdp;

/**
 * Conversion of an RDP curve to (epsilon, delta)-DP with the improved bound of Canonne, Kamath,
 * Steinke (2020, "The Discrete Gaussian for Differential Privacy", Prop. 12) and Asoodeh et al.
 * (2020): for each order a > 1,
 * {@code epsilon = rdp(a) + log1p(-1/a) - (log(delta) + log(a)) / (a - 1)}.
 * It is tighter than the classical {@code rdp(a) + log(1/delta)/(a-1)} (Mironov 2017) by
 * {@code log(a/(a-1)) + log(a)/(a-1)}, which is why published epsilons computed with the older
 * conversion (for example TF Privacy's MNIST tutorial "3.01") are larger.
 *
 * <p>In addition, since the Rényi divergence of order a bounds the KL divergence, the
 * Bretagnolle-Huber bound {@code delta(0) <= sqrt(1 - exp(-rdp(a)))} is used when it is smaller.
 */
final class RdpConversion {

  /** Below this order the bound is numerically unstable and never the tightest. */
  private static final double MIN_CONVERSION_ORDER = 1.01;

  private RdpConversion() {
  }

  static RdpGuarantee epsilon(double[] orders, double[] rdp, double delta) {
    double best = Double.POSITIVE_INFINITY;
    double bestOrder = orders[0];
    for (int i = 0; i < orders.length; i++) {
      double a = orders[i];
      double r = rdp[i];
      double eps;
      if (r == Double.POSITIVE_INFINITY) {
        eps = Double.POSITIVE_INFINITY;
      } else if (delta * delta + Math.expm1(-r) > 0) {
        eps = 0; // KL bound: delta(0) <= sqrt(1 - exp(-r)) < delta
      } else if (a > MIN_CONVERSION_ORDER && delta > 0) {
        eps = r + Math.log1p(-1 / a) - (Math.log(delta) + Math.log(a)) / (a - 1);
      } else {
        eps = Double.POSITIVE_INFINITY;
      }
      if (eps < best) {
        best = eps;
        bestOrder = a;
      }
    }
    return new RdpGuarantee(Math.max(0, best), delta, bestOrder);
  }

  static RdpGuarantee delta(double[] orders, double[] rdp, double epsilon) {
    double bestLogDelta = 0; // delta <= 1 always
    double bestOrder = orders[0];
    for (int i = 0; i < orders.length; i++) {
      double a = orders[i];
      double r = rdp[i];
      if (r == Double.POSITIVE_INFINITY) {
        continue;
      }
      double logDelta = r == 0 ? Double.NEGATIVE_INFINITY : 0.5 * Math.log(-Math.expm1(-r));
      if (a > MIN_CONVERSION_ORDER) {
        double bound = (a - 1) * (r - epsilon + Math.log1p(-1 / a)) - Math.log(a);
        logDelta = Math.min(logDelta, bound);
      }
      if (logDelta < bestLogDelta) {
        bestLogDelta = logDelta;
        bestOrder = a;
      }
    }
    return new RdpGuarantee(epsilon, Math.min(1.0, Math.exp(bestLogDelta)), bestOrder);
  }
}

package org.cloister.dp.accounting.pld;

/**
 * Pessimistic discretization of the privacy loss distribution of Poisson-subsampled additive
 * noise, by the "connect the dots" construction of Doroshenko, Ghazi, Kamath, Kumar, Manurangsi
 * ("Connect the Dots: Tighter Discrete Approximations of Privacy Loss Distributions", PETS 2022).
 *
 * <p>The losses are restricted to the grid {@code i * interval}. The outcomes whose loss lies in
 * {@code (eps_i, eps_{i+1}]} carry masses P(I) and Q(I) under the pair (P, Q); they are replaced by
 * two atoms at the interval's ends, with losses eps_i and eps_{i+1}, that keep both P(I) and Q(I).
 * The hockey-stick divergence of the result equals the true one at every grid point and is linear
 * in e^eps in between, hence never smaller (delta is convex in e^eps): the discretization is
 * pessimistic, and it stays so under composition (it is the loss distribution of a pair that
 * dominates the true one). Outcomes below the grid are merged into its lowest point (moving loss
 * up); outcomes above it become a point at its top plus an atom at +infinity holding
 * delta(eps_top) — exactly the connect-the-dots endpoint rule.
 *
 * <p>Adjacency is add-or-remove-one, and the two directions give different distributions once
 * sampling is involved: "remove" compares P = (1-q) N0 + q N1 (the record present) with Q = N0;
 * "add" compares P = N0 with Q = (1-q) N0 + q N1. Both must be accounted and the worse reported.
 */
final class ConnectTheDots {

  /** Grid points beyond which we refuse (memory) and suggest the RDP accountant. */
  static final int MAX_POINTS = 1 << 23;
  /** Outcome range: probability beyond it, per side, under either component of the pair. */
  private static final double RANGE_TAIL = 1e-30;

  enum Direction { REMOVE, ADD }

  private ConnectTheDots() {
  }

  /**
   * The pessimistic loss distribution of additive {@code noise} (sensitivity 1) applied to a
   * Poisson sample with probability {@code q} in (0, 1].
   */
  static PrivacyLossDistribution discretize(double q, AdditiveNoise noise, Direction direction,
      double interval) {
    boolean remove = direction == Direction.REMOVE;
    double t = noise.tailBound(RANGE_TAIL);
    // loss range covering all but RANGE_TAIL of the mass at each end
    double lossLo;
    double lossHi;
    if (remove) {
      lossLo = lossRemove(q, noise.baseLoss(-t));
      lossHi = lossRemove(q, noise.baseLoss(1 + t));
    } else {
      lossLo = -lossRemove(q, noise.baseLoss(1 + t));
      lossHi = -lossRemove(q, noise.baseLoss(-t));
    }
    long iLo = (long) Math.floor(lossLo / interval + 1e-9);
    long iHi = (long) Math.ceil(lossHi / interval - 1e-9);
    if (iHi <= iLo) {
      iHi = iLo + 1;
    }
    long points = iHi - iLo + 1;
    if (points > MAX_POINTS) {
      throw new IllegalArgumentException(String.format(
          "privacy loss range [%.4g, %.4g] needs %d grid points at interval %g (limit %d): "
              + "the noise is too small for the PLD accountant; use the RDP accountant or a coarser interval",
          lossLo, lossHi, points, interval, MAX_POINTS));
    }
    int n = (int) points;
    double[] pmf = new double[n];
    double expm1Interval = Math.expm1(interval);

    double[] q0 = new double[2];
    double[] p1 = new double[2];
    double[] q0Prev = new double[2];
    double[] p1Prev = new double[2];
    cumulative(q, noise, remove, iLo * interval, q0Prev, p1Prev);
    // everything at or below the lowest grid point is merged into it
    pmf[0] += pMass(q, remove, q0Prev[0], p1Prev[0]);
    for (int i = 0; i + 1 < n; i++) {
      double epsLeft = (iLo + i) * interval;
      cumulative(q, noise, remove, (iLo + i + 1) * interval, q0, p1);
      double q0Mass = intervalMass(q0Prev, q0);
      double p1Mass = intervalMass(p1Prev, p1);
      double pI = pMass(q, remove, q0Mass, p1Mass);
      double qI = qMass(q, remove, q0Mass, p1Mass);
      if (pI > 0) {
        double right;
        if (qI > 0) {
          double xLeft = Math.exp(epsLeft);
          double theta = (pI / qI - xLeft) / (xLeft * expm1Interval);
          theta = Math.min(1, Math.max(0, theta));
          right = Math.min(pI, theta * qI * xLeft * Math.exp(interval));
        } else {
          right = pI;
        }
        pmf[i] += pI - right;
        pmf[i + 1] += right;
      }
      double[] swap = q0Prev;
      q0Prev = q0;
      q0 = swap;
      swap = p1Prev;
      p1Prev = p1;
      p1 = swap;
    }
    // above the top grid point: a point at the top keeping Q's mass, the rest of P at infinity
    double pTop = pMass(q, remove, q0Prev[1], p1Prev[1]);
    double qTop = qMass(q, remove, q0Prev[1], p1Prev[1]);
    double xTop = Math.exp(iHi * interval);
    double atTop = Math.min(pTop, xTop * qTop);
    pmf[n - 1] += atTop;
    double infinity = pTop - atTop;
    return new PrivacyLossDistribution(interval, iLo, pmf, infinity);
  }

  /** Privacy loss log(1 - q + q e^l) of the remove direction, for base loss l. */
  private static double lossRemove(double q, double baseLoss) {
    if (q == 1.0 || baseLoss == Double.POSITIVE_INFINITY) {
      return baseLoss; // (log1p(expm1(l)) would round to -inf once e^l < 1e-16)
    }
    if (baseLoss == Double.NEGATIVE_INFINITY) {
      return Math.log1p(-q);
    }
    if (baseLoss > 30) {
      return baseLoss + Math.log(q) + Math.log1p((1 - q) * Math.exp(-baseLoss) / q);
    }
    return Math.log1p(q * Math.expm1(baseLoss));
  }

  /**
   * The masses of {L <= eps} (index 0) and {L > eps} (index 1) under the noise centred at 0
   * ({@code q0}) and at 1 ({@code p1}).
   */
  private static void cumulative(double q, AdditiveNoise noise, boolean remove, double eps,
      double[] q0, double[] p1) {
    if (remove) {
      // L <= eps  <=>  l(o) <= log((e^eps - (1-q)) / q)
      double c = baseLossThreshold(q, eps);
      double o = c == Double.NEGATIVE_INFINITY ? Double.NEGATIVE_INFINITY : noise.outcomeAtMostLoss(c);
      tailsAt(noise, o, 0, q0, false);
      tailsAt(noise, o, 1, p1, false);
    } else {
      // L <= eps  <=>  l(o) >= log((e^-eps - (1-q)) / q)
      double c = baseLossThreshold(q, -eps);
      double o = c == Double.NEGATIVE_INFINITY ? Double.NEGATIVE_INFINITY : noise.outcomeAtLeastLoss(c);
      tailsAt(noise, o, 0, q0, true);
      tailsAt(noise, o, 1, p1, true);
    }
  }

  /** The base loss l with log(1 - q + q e^l) = e, i.e. log((e^e - (1 - q)) / q); -inf if none. */
  private static double baseLossThreshold(double q, double e) {
    if (q == 1.0) {
      return e;
    }
    double num = Math.expm1(e) + q;
    return num <= 0 ? Double.NEGATIVE_INFINITY : Math.log(num / q);
  }

  /** Writes the masses of {L <= eps}, {L > eps} given the outcome threshold o. */
  private static void tailsAt(AdditiveNoise noise, double o, double mean, double[] out, boolean upperSet) {
    double below;
    double above;
    if (o == Double.NEGATIVE_INFINITY) {
      below = 0;
      above = 1;
    } else if (o == Double.POSITIVE_INFINITY) {
      below = 1;
      above = 0;
    } else {
      noise.tails(o, mean, out);
      below = out[0];
      above = out[1];
    }
    if (upperSet) {
      // {L <= eps} = {o' >= o}: its mass is P(X >= o) = P(X > o) for continuous noise
      out[0] = above;
      out[1] = below;
    } else {
      out[0] = below;
      out[1] = above;
    }
  }

  /** Mass of (eps_prev, eps] from cumulative pairs, using whichever side is accurate. */
  private static double intervalMass(double[] prev, double[] cur) {
    double m;
    if (prev[1] < 0.5) {
      m = prev[1] - cur[1];
    } else if (cur[0] < 0.5) {
      m = cur[0] - prev[0];
    } else {
      m = 1 - prev[0] - cur[1];
    }
    return Math.max(0, m);
  }

  private static double pMass(double q, boolean remove, double q0Mass, double p1Mass) {
    return remove ? (1 - q) * q0Mass + q * p1Mass : q0Mass;
  }

  private static double qMass(double q, boolean remove, double q0Mass, double p1Mass) {
    return remove ? q0Mass : (1 - q) * q0Mass + q * p1Mass;
  }
}

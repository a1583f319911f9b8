package org.cloister.dp.accounting.pld;

import java.util.Arrays;
import org.cloister.dp.math.FftConvolver;

/**
 * A discrete privacy loss distribution: probability {@code pmf[i]} of privacy loss
 * {@code (offset + i) * interval} under the "with" distribution of a dominating pair, plus an
 * atom at +infinity ({@code infinityMass}). Immutable.
 *
 * <p>The hockey-stick divergence, i.e. the smallest delta for a given epsilon, is
 * {@code delta(eps) = infinityMass + sum_{L_i > eps} pmf[i] (1 - exp(eps - L_i))}. Composition of
 * mechanisms adds independent losses, so composed distributions are convolutions.
 *
 * <p>Truncation keeps memory bounded: after each convolution the lowest values holding at most
 * {@code tail} probability are merged into the lowest kept value (moving loss up only ever
 * increases delta) and the highest values holding at most {@code tail} are moved to the atom at
 * +infinity (added to delta, never dropped).
 */
final class PrivacyLossDistribution {

  /** Smallest truncation per operation. */
  static final double MIN_TAIL = 1e-30;

  private final double interval;
  private final long offset;
  private final double[] pmf;
  private final double infinityMass;

  PrivacyLossDistribution(double interval, long offset, double[] pmf, double infinityMass) {
    this.interval = interval;
    this.offset = offset;
    this.pmf = pmf;
    this.infinityMass = Math.min(1.0, Math.max(0.0, infinityMass));
  }

  /** The distribution of a mechanism that reveals nothing: loss 0 with probability 1. */
  static PrivacyLossDistribution identity(double interval) {
    return new PrivacyLossDistribution(interval, 0, new double[] {1.0}, 0.0);
  }

  double interval() {
    return interval;
  }

  long offset() {
    return offset;
  }

  int size() {
    return pmf.length;
  }

  double infinityMass() {
    return infinityMass;
  }

  double probability(int i) {
    return pmf[i];
  }

  double loss(int i) {
    return (offset + i) * interval;
  }

  /**
   * The loss distribution of both mechanisms run (independent losses add), truncated. The kept
   * window is chosen from the exact tail masses of the sum, computed from the two inputs
   * ({@code P(L_a + L_b > x) = sum_i a_i P(L_b > x - i)}), not from the FFT output, whose
   * round-off (about 1e-17 per value) would otherwise pose as mass in the tails and stop them
   * from ever being trimmed.
   */
  PrivacyLossDistribution compose(PrivacyLossDistribution other, FftConvolver fft, double tail) {
    checkInterval(other);
    double[] convolved = this == other ? fft.square(pmf) : fft.convolve(pmf, other.pmf);
    return fromConvolution(this, other, convolved, tail);
  }

  /** The sum of x and y given their convolution, truncated as described for compose. */
  private static PrivacyLossDistribution fromConvolution(PrivacyLossDistribution x,
      PrivacyLossDistribution y, double[] convolved, double tail) {
    double[] a = x.pmf;
    double[] b = y.pmf;
    double inf = x.infinityMass + y.infinityMass - x.infinityMass * y.infinityMass;
    TailSums tb = new TailSums(b);
    int last = convolved.length - 1;
    // smallest hi with P(index > hi) <= tail: gallop down from the top, then bisect
    int good = last; // upperMass(last) = 0
    int step = 1;
    int bad;
    while (true) {
      int probe = last - step;
      if (probe < 0) {
        bad = -1;
        break;
      }
      if (upperMass(a, tb, probe) > tail) {
        bad = probe;
        break;
      }
      good = probe;
      step <<= 1;
    }
    while (good - bad > 1) {
      int mid = (good + bad) >>> 1;
      if (upperMass(a, tb, mid) <= tail) {
        good = mid;
      } else {
        bad = mid;
      }
    }
    int hi = good;
    // largest lo <= hi with P(index < lo) <= tail: gallop up from the bottom, then bisect
    int goodLo = 0; // lowerMass(0) = 0
    int badLo;
    step = 1;
    while (true) {
      int probe = step;
      if (probe > hi) {
        badLo = hi + 1;
        break;
      }
      if (lowerMass(a, tb, probe) > tail) {
        badLo = probe;
        break;
      }
      goodLo = probe;
      step <<= 1;
    }
    while (badLo - goodLo > 1) {
      int mid = (goodLo + badLo) >>> 1;
      if (lowerMass(a, tb, mid) <= tail) {
        goodLo = mid;
      } else {
        badLo = mid;
      }
    }
    int lo = goodLo;
    double upper = upperMass(a, tb, hi);
    double lower = lowerMass(a, tb, lo);
    double[] kept = Arrays.copyOfRange(convolved, lo, hi + 1);
    for (int i = 0; i < kept.length; i++) {
      if (!(kept[i] > 0)) {
        kept[i] = 0; // FFT round-off leaves tiny negatives
      }
    }
    kept[0] += lower;
    return new PrivacyLossDistribution(x.interval, x.offset + y.offset + lo, kept, inf + upper);
  }

  /**
   * This mechanism run {@code count} times, by repeated squaring (about 2 log2(count)
   * convolutions). A convolution producing the distribution of m steps truncates
   * {@code tail * m / count}: the remaining compositions multiply what it moves to infinity by at
   * most count / m, so each of the ~2 log2(count) convolutions adds at most {@code tail} to the
   * final delta.
   */
  PrivacyLossDistribution selfCompose(long count, FftConvolver fft, double tail) {
    if (count < 0) {
      throw new IllegalArgumentException("count must be >= 0, got " + count);
    }
    PrivacyLossDistribution result = null;
    long resultSteps = 0;
    PrivacyLossDistribution power = this;
    long powerSteps = 1;
    long remaining = count;
    while (remaining > 0) {
      boolean take = (remaining & 1) != 0;
      remaining >>= 1;
      boolean more = remaining > 0;
      if (take && more && result != null) {
        // multiply the result by the current power and square the power, sharing its transform
        double[][] both = fft.convolveAndSquare(result.pmf, power.pmf);
        resultSteps += powerSteps;
        powerSteps <<= 1;
        result = fromConvolution(result, power, both[0], levelTail(tail, resultSteps, count));
        power = fromConvolution(power, power, both[1], levelTail(tail, powerSteps, count));
        continue;
      }
      if (take) {
        resultSteps += powerSteps;
        result = result == null ? power
            : result.compose(power, fft, levelTail(tail, resultSteps, count));
      }
      if (more) {
        powerSteps <<= 1;
        power = power.compose(power, fft, levelTail(tail, powerSteps, count));
      }
    }
    return result == null ? identity(interval) : result;
  }

  private static double levelTail(double tail, long steps, long count) {
    return Math.max(MIN_TAIL, tail * ((double) steps / count));
  }

  /** This distribution with at most {@code tail} mass trimmed from each end (see class comment). */
  PrivacyLossDistribution truncate(double tail) {
    int lo = 0;
    double lowMass = 0;
    while (lo < pmf.length - 1 && lowMass + pmf[lo] <= tail) {
      lowMass += pmf[lo];
      lo++;
    }
    int hi = pmf.length - 1;
    double highMass = 0;
    while (hi > lo && highMass + pmf[hi] <= tail) {
      highMass += pmf[hi];
      hi--;
    }
    double[] kept = Arrays.copyOfRange(pmf, lo, hi + 1);
    kept[0] += lowMass;
    return new PrivacyLossDistribution(interval, offset + lo, kept, infinityMass + highMass);
  }

  /** The smallest delta such that the pair is (epsilon, delta)-DP. */
  double delta(double epsilon) {
    double delta = infinityMass;
    for (int i = pmf.length - 1; i >= 0; i--) {
      double loss = loss(i);
      if (loss <= epsilon) {
        break;
      }
      delta += pmf[i] * -Math.expm1(epsilon - loss);
    }
    return Math.min(1.0, delta);
  }

  /**
   * The smallest epsilon >= 0 such that {@code delta(epsilon) <= targetDelta}; +infinity if the
   * mass at infinite loss alone exceeds {@code targetDelta}. Between grid points delta is
   * {@code M - exp(eps - L_i) T}, which is solved exactly.
   */
  double epsilon(double targetDelta) {
    if (infinityMass > targetDelta) {
      return Double.POSITIVE_INFINITY;
    }
    double decay = Math.exp(-interval);
    double mass = infinityMass; // M_i = infinityMass + sum_{j >= i} p_j
    double discounted = 0; // T_i = sum_{j >= i} p_j exp(L_i - L_j)
    for (int i = pmf.length - 1; i >= 0; i--) {
      mass += pmf[i];
      discounted = pmf[i] + decay * discounted;
      double deltaBelow = i > 0 ? mass - decay * discounted : mass; // delta at L_{i-1} (or -inf)
      if (deltaBelow > targetDelta) {
        if (discounted <= 0) {
          return Math.max(0, loss(i));
        }
        double eps = loss(i) + Math.log((mass - targetDelta) / discounted);
        return Math.max(0, eps);
      }
    }
    return 0;
  }

  /** Suffix and prefix sums of a distribution, each accumulated from its own end. */
  private static final class TailSums {
    final double[] above; // above[k] = sum_{j >= k} b_j
    final double[] below; // below[k] = sum_{j <= k} b_j
    final double total;

    TailSums(double[] b) {
      above = new double[b.length];
      below = new double[b.length];
      double s = 0;
      for (int j = b.length - 1; j >= 0; j--) {
        s += Math.max(0, b[j]);
        above[j] = s;
      }
      total = s;
      s = 0;
      for (int j = 0; j < b.length; j++) {
        s += Math.max(0, b[j]);
        below[j] = s;
      }
    }

    double atLeast(int k) {
      return k <= 0 ? total : k >= above.length ? 0 : above[k];
    }

    double atMost(int k) {
      return k < 0 ? 0 : k >= below.length ? total : below[k];
    }
  }

  /** P(i + j > h) for i ~ a, j ~ b; costs O(distance of h from the top). */
  private static double upperMass(double[] a, TailSums tb, int h) {
    double sum = 0;
    for (int i = Math.max(0, h + 2 - tb.above.length); i < a.length; i++) {
      sum += a[i] * tb.atLeast(h + 1 - i);
    }
    return sum;
  }

  /** P(i + j < l); costs O(l). */
  private static double lowerMass(double[] a, TailSums tb, int l) {
    double sum = 0;
    for (int i = 0, end = Math.min(a.length, l); i < end; i++) {
      sum += a[i] * tb.atMost(l - 1 - i);
    }
    return sum;
  }

  private void checkInterval(PrivacyLossDistribution other) {
    if (other.interval != interval) {
      throw new IllegalArgumentException("cannot compose distributions with discretization intervals "
          + interval + " and " + other.interval);
    }
  }
}

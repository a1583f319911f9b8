package org.cloister.dp.accounting;

import java.util.Objects;
import java.util.function.Supplier;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.NoOpEvent;
import org.cloister.dp.events.PoissonSampledEvent;

/**
 * Inverts an accountant by bisection: the smallest noise multiplier that meets an (epsilon,
 * delta) target, and the largest number of steps a budget allows. Works with any accountant
 * (RDP, PLD); results are always on the safe side of the target: the returned noise multiplier
 * meets it, the returned step count does not exceed it.
 *
 * <p>Epsilon is assumed to decrease with the noise multiplier and to increase with the number of
 * steps, which holds for the mechanisms accounted here.
 */
public final class Calibration {

  /** Noise multipliers searched; outside this range the target is reported as unreachable. */
  static final double MIN_NOISE = 1e-3;
  static final double MAX_NOISE = 1e6;
  /** Largest step count searched. */
  static final long MAX_STEPS = 1L << 40;

  private final Supplier<? extends PrivacyAccountant> accountants;
  private final double relativeTolerance;

  /** Calibrates with fresh accountants from {@code accountants}, to a relative tolerance of 1e-5. */
  public Calibration(Supplier<? extends PrivacyAccountant> accountants) {
    this(accountants, 1e-5);
  }

  /**
   * @param accountants supplies a fresh, empty accountant per evaluation
   * @param relativeTolerance the noise multiplier is found within this relative distance of the
   *     exact smallest one (and on its safe side)
   */
  public Calibration(Supplier<? extends PrivacyAccountant> accountants, double relativeTolerance) {
    this.accountants = Objects.requireNonNull(accountants, "accountants");
    if (!(relativeTolerance > 0 && relativeTolerance < 0.1)) {
      throw new IllegalArgumentException("relative tolerance must be in (0, 0.1), got " + relativeTolerance);
    }
    this.relativeTolerance = relativeTolerance;
  }

  /** One DP-SGD step: the Gaussian mechanism on a Poisson sample (no sampling when q = 1). */
  public static DpEvent dpSgdStep(double samplingRate, double noiseMultiplier) {
    GaussianEvent gaussian = new GaussianEvent(noiseMultiplier);
    return samplingRate == 1.0 ? gaussian : new PoissonSampledEvent(samplingRate, gaussian);
  }

  /**
   * The smallest noise multiplier (within the relative tolerance, rounded up) such that
   * {@code steps} DP-SGD steps at {@code samplingRate} are (targetEpsilon, delta)-DP.
   *
   * @throws IllegalArgumentException on invalid arguments, or if no noise multiplier up to 1e6
   *     meets the target
   */
  public double noiseMultiplier(double targetEpsilon, double delta, double samplingRate, long steps) {
    return noiseMultiplier(targetEpsilon, delta, samplingRate, steps, new NoOpEvent());
  }

  /**
   * As {@link #noiseMultiplier(double, double, double, long)}, after {@code prior} was spent (e.g. a
   * private preprocessing release): the composition of both meets the target.
   */
  public double noiseMultiplier(double targetEpsilon, double delta, double samplingRate, long steps, DpEvent prior) {
    Objects.requireNonNull(prior, "prior");
    checkTarget(targetEpsilon, delta);
    checkSamplingRate(samplingRate);
    if (steps < 0) {
      throw new IllegalArgumentException("steps must be >= 0, got " + steps);
    }
    if (steps == 0) {
      return 0.0;
    }
    double hi = 1.0;
    PrivacyAccountant before = accountants.get();
    before.compose(prior, 1);
    if (before.epsilon(delta) >= targetEpsilon) {
      throw new IllegalArgumentException("target epsilon " + targetEpsilon + " is already spent by " + prior);
    }
    while (!meets(hi, targetEpsilon, delta, samplingRate, steps, prior)) {
      hi *= 2;
      if (hi > MAX_NOISE) {
        throw new IllegalArgumentException("target epsilon " + targetEpsilon + " at delta " + delta
            + " is unreachable with noise multiplier <= " + MAX_NOISE);
      }
    }
    double lo = hi / 2;
    while (meets(lo, targetEpsilon, delta, samplingRate, steps, prior)) {
      hi = lo;
      lo /= 2;
      if (lo < MIN_NOISE) {
        return hi;
      }
    }
    // invariant: lo fails, hi meets the target
    while (hi / lo - 1 > relativeTolerance) {
      double mid = Math.sqrt(lo * hi);
      if (meets(mid, targetEpsilon, delta, samplingRate, steps, prior)) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    return hi;
  }

  /**
   * Whether {@code steps} DP-SGD steps at {@code samplingRate} with {@code noiseMultiplier}, after
   * {@code prior}, are (targetEpsilon, delta)-DP: one accountant evaluation, the test the bisection of
   * {@link #noiseMultiplier(double, double, double, long, DpEvent)} makes at each point. Since epsilon
   * decreases with the noise multiplier, a noise multiplier that meets the target keeps meeting it when
   * raised.
   */
  public boolean meetsTarget(double noiseMultiplier, double targetEpsilon, double delta, double samplingRate, long steps,
                             DpEvent prior) {
    Objects.requireNonNull(prior, "prior");
    checkTarget(targetEpsilon, delta);
    checkSamplingRate(samplingRate);
    if (steps < 0) {
      throw new IllegalArgumentException("steps must be >= 0, got " + steps);
    }
    if (!(noiseMultiplier > 0) || Double.isInfinite(noiseMultiplier)) {
      throw new IllegalArgumentException("noise multiplier must be a positive number, got " + noiseMultiplier);
    }
    return meets(noiseMultiplier, targetEpsilon, delta, samplingRate, steps, prior);
  }

  /**
   * The largest number of DP-SGD steps (from no history) that stays (targetEpsilon, delta)-DP.
   */
  public long maxSteps(double targetEpsilon, double delta, double samplingRate, double noiseMultiplier) {
    checkSamplingRate(samplingRate);
    if (!(noiseMultiplier > 0)) {
      throw new IllegalArgumentException("noise multiplier must be > 0, got " + noiseMultiplier);
    }
    return remainingSteps(accountants.get(), dpSgdStep(samplingRate, noiseMultiplier), targetEpsilon, delta);
  }

  /**
   * The largest number of further repetitions of {@code step} after the history in {@code spent}
   * that keeps the total (epsilonBudget, delta)-DP; 0 if the budget is already exhausted.
   * {@code spent} is not modified.
   */
  public long remainingSteps(PrivacyAccountant spent, DpEvent step, double epsilonBudget, double delta) {
    Objects.requireNonNull(spent, "spent");
    Objects.requireNonNull(step, "step");
    checkTarget(epsilonBudget, delta);
    if (spent.epsilon(delta) > epsilonBudget) {
      return 0;
    }
    long good = 0;
    long bad = 1;
    while (withinBudget(spent, step, bad, epsilonBudget, delta)) {
      good = bad;
      if (bad >= MAX_STEPS) {
        return MAX_STEPS;
      }
      bad *= 2;
    }
    while (bad - good > 1) {
      long mid = good + (bad - good) / 2;
      if (withinBudget(spent, step, mid, epsilonBudget, delta)) {
        good = mid;
      } else {
        bad = mid;
      }
    }
    return good;
  }

  private boolean withinBudget(PrivacyAccountant spent, DpEvent step, long count, double budget, double delta) {
    return spent.copy().compose(step, count).epsilon(delta) <= budget;
  }

  private boolean meets(double noise, double targetEpsilon, double delta, double samplingRate, long steps, DpEvent prior) {
    PrivacyAccountant accountant = accountants.get();
    try {
      accountant.compose(prior, 1);
      accountant.compose(dpSgdStep(samplingRate, noise), steps);
    } catch (IllegalArgumentException tooSmall) {
      // e.g. the PLD grid for a tiny noise multiplier would not fit in memory: such noise is
      // far too small to meet any sensible target
      return false;
    }
    return accountant.epsilon(delta) <= targetEpsilon;
  }

  private static void checkTarget(double epsilon, double delta) {
    if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
      throw new IllegalArgumentException("target epsilon must be a positive number, got " + epsilon);
    }
    if (!(delta > 0 && delta < 1)) {
      throw new IllegalArgumentException("delta must be in (0, 1), got " + delta);
    }
  }

  private static void checkSamplingRate(double samplingRate) {
    if (!(samplingRate > 0 && samplingRate <= 1)) {
      throw new IllegalArgumentException("sampling rate must be in (0, 1], got " + samplingRate);
    }
  }
}

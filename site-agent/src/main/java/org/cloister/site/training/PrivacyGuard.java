package org.cloister.site.training;

import java.util.Objects;
import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.accounting.UnsupportedEventException;
import org.cloister.dp.events.DpEvent;

/**
 * The site's own enforcement of its budget: a step is allowed only if the accountant's history
 * plus that step stays within (epsilon, delta). The site never relies on anyone else for this.
 */
public final class PrivacyGuard {
  /** Lifetime steps the reserved delta covers (see {@link #PrivacyGuard(PrivacyBudget, PrivacyAccountant, double)}). */
  public static final long RESERVED_STEPS = 1L << 40;

  private final PrivacyBudget budget;
  private final PrivacyAccountant accountant;
  private final double accountantDelta;

  public PrivacyGuard(PrivacyBudget budget, PrivacyAccountant accountant) {
    this(budget, accountant, 0);
  }

  /**
   * @param reservedDelta delta spent outside the accountant's events (the grid release's
   *     discretisation, {@code GridGaussian.discretisationDelta}): the accountant is asked for
   *     epsilon at the budget's delta minus this, rounded down, so that the total stays within the
   *     budget's delta
   */
  public PrivacyGuard(PrivacyBudget budget, PrivacyAccountant accountant, double reservedDelta) {
    this.budget = Objects.requireNonNull(budget, "budget");
    this.accountant = Objects.requireNonNull(accountant, "accountant");
    if (!(reservedDelta >= 0) || reservedDelta >= budget.delta() / 2) {
      throw new IllegalArgumentException("the discretisation delta of the grid release (" + reservedDelta
          + ") is not small against the budget's delta " + budget.delta() + ": the epsilon ceiling "
          + budget.epsilon() + " is too large for the grid release's guarantee (keep it below 200)");
    }
    this.accountantDelta = reservedDelta == 0 ? budget.delta() : Math.nextDown(budget.delta() - reservedDelta);
  }

  /** The delta at which the accountant is evaluated: the budget's, minus the reserved delta. */
  public double accountantDelta() {
    return accountantDelta;
  }

  /** Epsilon of the accountant's history now, at {@link #accountantDelta()}. */
  public double epsilonNow() {
    return accountant.epsilon(accountantDelta);
  }

  public PrivacyBudget budget() {
    return budget;
  }

  /** Epsilon (at the budget's delta) if {@code count} more {@code event}s were composed. */
  public double epsilonAfter(DpEvent event, long count) {
    if (!accountant.supports(event)) {
      throw new UnsupportedEventException(accountant.getClass().getSimpleName(), event);
    }
    PrivacyAccountant projected = accountant.copy();
    if (count > 0) {
      projected.compose(event, count);
    }
    return projected.epsilon(accountantDelta);
  }

  /** Whether one more {@code event} keeps the site within its budget. */
  public boolean allows(DpEvent event) {
    return withinBudget(epsilonAfter(event, 1));
  }

  /**
   * How many of the next {@code requested} {@code event}s fit in the budget: the largest k with
   * epsilon(history + k events) within the ceiling. Composition never lowers epsilon, so this is
   * what checking before every step gives, found with O(log k) accountant evaluations.
   */
  public int affordable(DpEvent event, int requested) {
    if (requested <= 0 || !withinBudget(epsilonAfter(event, 1))) {
      return 0;
    }
    int good = 1;
    int bad = -1;
    while (bad < 0) {
      long next = Math.min((long) good * 2, requested);
      if (next == good) {
        return good;
      }
      if (withinBudget(epsilonAfter(event, next))) {
        good = (int) next;
        if (good == requested) {
          return good;
        }
      } else {
        bad = (int) next;
      }
    }
    while (bad - good > 1) {
      int mid = good + (bad - good) / 2;
      if (withinBudget(epsilonAfter(event, mid))) {
        good = mid;
      } else {
        bad = mid;
      }
    }
    return good;
  }

  /** The message explaining why the step after {@code taken} steps of this round was refused. */
  public String refusal(DpEvent event, int taken) {
    double now = accountant.epsilon(accountantDelta);
    double next = epsilonAfter(event, 1);
    return String.format(java.util.Locale.ROOT,
        "privacy budget reached: step %d of this round would raise epsilon to %.4g, above the site's ceiling "
            + "epsilon=%.4g at delta=%.3g (epsilon spent so far %.4g); stopped after %d step(s)",
        taken + 1, next, budget.epsilon(), budget.delta(), now, taken);
  }

  private boolean withinBudget(double eps) {
    return eps <= budget.epsilon();
  }
}

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
  private final PrivacyBudget budget;
  private final PrivacyAccountant accountant;

  public PrivacyGuard(PrivacyBudget budget, PrivacyAccountant accountant) {
    this.budget = Objects.requireNonNull(budget, "budget");
    this.accountant = Objects.requireNonNull(accountant, "accountant");
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
    return projected.epsilon(budget.delta());
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
    double now = accountant.epsilon(budget.delta());
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

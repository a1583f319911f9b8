package org.cloister.coordinator.budget;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.cloister.coordinator.rounds.RoundListener;
import org.cloister.coordinator.rounds.RoundResult;

/**
 * Publishes each site's epsilon spent (recomputed from the ledger by the budget guard's
 * accountant, at the site's ceiling delta) as the gauge {@code cloister.privacy.epsilon{site}},
 * and its ceiling as {@code cloister.privacy.ceiling{site}}.
 */
public final class PrivacyMetrics implements RoundListener {
  private final MeterRegistry registry;
  private final BudgetGuard guard;
  private final PrivacyBudgets budgets;
  private final Map<String, double[]> values = new ConcurrentHashMap<>();

  public PrivacyMetrics(MeterRegistry registry, BudgetGuard guard, PrivacyBudgets budgets) {
    this.registry = registry;
    this.guard = guard;
    this.budgets = budgets;
  }

  @Override
  public void roundCompleted(RoundResult result) {
    for (String site : result.siteMetrics().keySet()) {
      double eps = guard.epsilon(site, guard.spent(site));
      values.computeIfAbsent(site, s -> {
        double[] holder = new double[1];
        Gauge.builder("cloister.privacy.epsilon", holder, h -> h[0]).tag("site", s)
            .description("epsilon spent, recomputed from the ledger").register(registry);
        Gauge.builder("cloister.privacy.ceiling", () -> budgets.ceilingOf(s).epsilon()).tag("site", s).register(registry);
        return holder;
      })[0] = eps;
    }
  }
}

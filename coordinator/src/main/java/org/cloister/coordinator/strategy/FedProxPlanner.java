package org.cloister.coordinator.strategy;

import java.util.Set;
import org.cloister.aggregation.strategy.StrategySpec;

/**
 * FedProx (Li et al. 2020, "Federated Optimization in Heterogeneous Networks"): sites are chosen
 * as in FedAvg, and each minimizes its loss plus {@code (mu/2) * ||w - w_round||^2}, which keeps
 * its local model near the round's global model when hospitals' data differ. The term is applied
 * by the site's trainer (it depends on no patient data, so under DP-SGD it costs no privacy).
 */
public final class FedProxPlanner implements SitePlanner {

  @Override
  public Set<String> names() {
    return Set.of("fedprox");
  }

  @Override
  public RoundPlan configureRound(StrategySpec spec, RoundContext context) {
    RoundPlan plan = SamplingPlanner.sample(context);
    return new RoundPlan(plan.sites(), plan.config().toBuilder().setProximalMu(spec.get("mu")).build());
  }
}

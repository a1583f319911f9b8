package org.cloister.coordinator.strategy;

import java.util.Map;
import org.cloister.aggregation.strategy.StrategySpec;

/** Plain federated averaging ({@code fedavg:server_lr=1}), for code that needs no configuration. */
public final class FedAvgStrategy implements Strategy {
  private static final StrategySpec SPEC = new StrategySpec("fedavg", Map.of("server_lr", 1.0));

  @Override
  public StrategySpec spec() {
    return SPEC;
  }

  @Override
  public RoundPlan configureRound(RoundContext context) {
    return SamplingPlanner.sample(context);
  }
}

package org.cloister.examples.strategy;

import java.util.Set;
import org.cloister.aggregation.strategy.StrategySpec;
import org.cloister.coordinator.strategy.RoundContext;
import org.cloister.coordinator.strategy.RoundPlan;
import org.cloister.coordinator.strategy.SamplingPlanner;
import org.cloister.coordinator.strategy.SitePlanner;

/**
 * The coordinator's half of the example: the sites FedAvg would pick, with the sites' learning
 * rate decayed by {@code lr_decay} each round ({@code lr * lr_decay^(round-1)}). It sees only
 * metadata: site ids and round numbers.
 */
public final class DecayingPlanner implements SitePlanner {

  @Override
  public Set<String> names() {
    return Set.of("fedavgm");
  }

  @Override
  public RoundPlan configureRound(StrategySpec spec, RoundContext context) {
    RoundPlan plan = SamplingPlanner.sample(context);
    double lr = context.baseConfig().getLearningRate() * Math.pow(spec.get("lr_decay"), context.round() - 1);
    return new RoundPlan(plan.sites(), plan.config().toBuilder().setLearningRate(lr).build());
  }
}

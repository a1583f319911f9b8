package org.cloister.coordinator.strategy;

import java.util.Set;
import org.cloister.aggregation.strategy.StrategySpec;

/**
 * The coordinator's half of a strategy (SPI, found with {@link java.util.ServiceLoader}), after
 * Flower's {@code configure_fit}: which sites train in a round and with what training
 * configuration. It sees only metadata (site ids, round numbers), never an update. Register an
 * implementation in {@code META-INF/services/org.cloister.coordinator.strategy.SitePlanner}; its
 * names must match enclave-side {@code AggregationRule}s. {@link SamplingPlanner#sample} is the
 * FedAvg selection, for planners that only change the configuration.
 */
public interface SitePlanner {

  /** The strategy names this planner serves. */
  Set<String> names();

  /** Plans a round for {@code spec} (already resolved: every parameter present and checked). */
  RoundPlan configureRound(StrategySpec spec, RoundContext context);
}

package org.cloister.coordinator.strategy;

import org.cloister.aggregation.strategy.StrategySpec;

/**
 * A study's strategy as the coordinator uses it: its value ({@link #spec()}, the same one the
 * enclave's measured policy carries) and the round planning that goes with it. Obtain one from
 * {@link Strategies}; to write your own, implement {@link SitePlanner} (and the enclave's
 * {@code AggregationRule}), not this interface.
 */
public interface Strategy {

  /** The strategy's name, as in its spec. */
  default String name() {
    return spec().name();
  }

  /** The strategy as one value, every parameter explicit. */
  StrategySpec spec();

  /** Plans round {@code round} given the sites currently available. */
  RoundPlan configureRound(RoundContext context);
}

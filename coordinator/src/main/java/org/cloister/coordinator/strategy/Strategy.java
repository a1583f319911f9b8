package org.cloister.coordinator.strategy;

import java.util.List;

/**
 * A federated strategy, after Flower's: it decides, for each round, which sites take part and
 * with what training configuration. (Aggregation arithmetic runs where the plaintext may be seen:
 * the aggregator.) Implement this to write your own selection or per-round schedule.
 */
public interface Strategy {

  String name();

  /** Plans round {@code round} given the sites currently available. */
  RoundPlan configureRound(RoundContext context);
}

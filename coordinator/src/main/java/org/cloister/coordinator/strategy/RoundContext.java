package org.cloister.coordinator.strategy;

import java.util.List;
import org.cloister.protocol.v1.TrainingConfig;

/**
 * What a strategy knows when it plans a round.
 *
 * @param eligibleSites sites available and allowed to take part (e.g. within their privacy budget)
 */
public record RoundContext(int round, int attempt, int totalRounds, List<String> eligibleSites,
                           int minSites, int maxSites, TrainingConfig baseConfig, long seed) {
  public RoundContext {
    eligibleSites = List.copyOf(eligibleSites);
  }
}

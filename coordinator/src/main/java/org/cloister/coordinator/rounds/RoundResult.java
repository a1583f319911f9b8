package org.cloister.coordinator.rounds;

import java.util.List;
import java.util.Map;

/**
 * What happened in one round: who was asked, whose update was aggregated, who was left out and
 * why, and the resulting model version.
 *
 * @param siteMetrics metrics the sites reported with their updates (loss, epsilon...), per site
 */
public record RoundResult(int round, String roundId, int attempt, List<String> selected, List<String> aggregated,
                          Map<String, String> rejected, long modelVersion, boolean quorumMet,
                          Map<String, Map<String, Double>> siteMetrics, long durationMillis) {
  public RoundResult {
    selected = List.copyOf(selected);
    aggregated = List.copyOf(aggregated);
    rejected = Map.copyOf(rejected);
    siteMetrics = Map.copyOf(siteMetrics);
  }
}

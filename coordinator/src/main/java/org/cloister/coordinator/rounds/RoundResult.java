package org.cloister.coordinator.rounds;

import java.util.List;
import java.util.Map;

/**
 * What happened in one round: who was asked, whose update was aggregated, who was left out and
 * why, and the resulting model version.
 *
 * @param siteMetrics metrics the sites reported with their updates (loss, epsilon...), per site
 * @param excluded    available sites that were not asked, and why (e.g. their privacy budget)
 * @param evaluation  the sum of the sites' noised held-out evaluations of the round's base model (null: none)
 */
public record RoundResult(int round, String roundId, int attempt, List<String> selected, List<String> aggregated,
                          Map<String, String> rejected, long modelVersion, boolean quorumMet,
                          Map<String, Map<String, Double>> siteMetrics, long durationMillis, Map<String, String> excluded,
                          RoundEvaluation evaluation) {
  public RoundResult(int round, String roundId, int attempt, List<String> selected, List<String> aggregated,
                     Map<String, String> rejected, long modelVersion, boolean quorumMet,
                     Map<String, Map<String, Double>> siteMetrics, long durationMillis, Map<String, String> excluded) {
    this(round, roundId, attempt, selected, aggregated, rejected, modelVersion, quorumMet, siteMetrics, durationMillis,
        excluded, null);
  }

  /** The round id prefix of the final evaluation's record (after the last round: the final model scored, no training). */
  public static final String FINAL_EVALUATION_PREFIX = "final-evaluation-";

  /** Whether this is the final evaluation's record (no training; {@link #quorumMet} is false, it counts as no round). */
  public boolean finalEvaluation() {
    return roundId.startsWith(FINAL_EVALUATION_PREFIX);
  }

  public RoundResult {
    excluded = excluded == null ? Map.of() : Map.copyOf(excluded);
    selected = List.copyOf(selected);
    aggregated = List.copyOf(aggregated);
    rejected = Map.copyOf(rejected);
    siteMetrics = Map.copyOf(siteMetrics);
  }
}

package org.cloister.simulations;

import java.util.List;
import org.cloister.models.EvaluationMetrics;

/**
 * The outcome of a simulated study.
 *
 * @param noiseMultiplier the DP-SGD noise multiplier the sites trained with (calibrated from the
 *                        budget when one was given; NaN for the non-private baseline)
 */
public record SimulationResult(SimulationConfig config, List<RoundReport> rounds, EvaluationMetrics finalMetrics,
                               List<SiteReport> sites, String status, long wallMillis, double noiseMultiplier) {
  public SimulationResult {
    rounds = List.copyOf(rounds);
    sites = List.copyOf(sites);
  }
}

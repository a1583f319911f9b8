package org.cloister.simulations;

import java.util.List;
import org.cloister.models.EvaluationMetrics;

/** The outcome of a simulated study. */
public record SimulationResult(SimulationConfig config, List<RoundReport> rounds, EvaluationMetrics finalMetrics,
                               List<SiteReport> sites, String status, long wallMillis) {
  public SimulationResult {
    rounds = List.copyOf(rounds);
    sites = List.copyOf(sites);
  }
}

package org.cloister.coordinator.rounds;

import java.util.List;
import org.cloister.protocol.EvaluationHistograms;

/**
 * The federated evaluation of one round: the sum of the sites' noised held-out counts
 * ({@code EvaluationRelease}, each already differentially private and accounted in the site's spend), for the
 * model the round started from. Metrics are post-processing of the sum.
 *
 * @param modelVersion  the model the sites scored (the round's base model)
 * @param sites         how many sites' releases are summed
 * @param counts        the summed noised counts ({@link EvaluationHistograms} layout)
 * @param noiseVariance the variance of each summed count's noise (the sum of the sites' variances)
 */
public record RoundEvaluation(long modelVersion, int classes, int bins, int sites, List<Double> counts, double noiseVariance) {
  public RoundEvaluation {
    counts = List.copyOf(counts);
  }

  /** Accuracy and AUC with their noise standard errors (a bootstrap seeded by the round, so repeatable). */
  public EvaluationHistograms.Metrics metrics(int round) {
    return EvaluationHistograms.metrics(counts.stream().mapToDouble(Double::doubleValue).toArray(), classes, bins,
        noiseVariance, 0x5EEDL * 1_000_003L + round);
  }
}

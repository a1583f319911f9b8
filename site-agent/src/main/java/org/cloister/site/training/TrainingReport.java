package org.cloister.site.training;

import java.util.Optional;
import org.cloister.dp.events.DpEvent;

/**
 * The outcome of one {@link DpSgdTrainer#train} call (a round of local training).
 *
 * @param stepsRequested steps asked for
 * @param stepsTaken steps actually taken (noised updates applied to the model)
 * @param stoppedByGuard whether the privacy guard stopped the round early
 * @param stopReason the guard's message when it stopped the round
 * @param stepEvent the privacy event of one step: PoissonSampled(q, Gaussian(sigma))
 * @param roundEvent the event of the whole round: stepEvent self-composed stepsTaken times
 * @param epsilonSpent epsilon of the accountant's whole history after the round, at {@code delta}
 *     (NaN when the trainer has no budget, so no delta to report at)
 * @param delta the delta epsilonSpent refers to (the budget's)
 * @param clipping clipping statistics (local only: not noised)
 * @param batchSizes size of each step's Poisson sample (local only)
 */
public record TrainingReport(int stepsRequested, int stepsTaken, boolean stoppedByGuard, Optional<String> stopReason,
                             DpEvent stepEvent, DpEvent roundEvent, double epsilonSpent, double delta,
                             ClippingStats clipping, int[] batchSizes) {
  public TrainingReport {
    batchSizes = batchSizes.clone();
  }

  @Override
  public int[] batchSizes() {
    return batchSizes.clone();
  }
}

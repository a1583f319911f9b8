package org.cloister.protocol;

import org.cloister.protocol.v1.TrainingConfig;

/**
 * The one rule, shared by the site's trainer and the coordinator's budget projection, that turns
 * a round's training configuration and a site's example count into its DP-SGD schedule: the
 * Poisson sampling rate q and the number of noisy steps.
 *
 * @param samplingRate q: {@code dp.sampling_rate} when set, else {@code batch_size / examples} (capped at 1)
 * @param steps        {@code local_steps} when set, else {@code ceil(local_epochs / q)} (an "epoch" is 1/q expected steps)
 */
public record DpSchedule(double samplingRate, long steps) {

  public static DpSchedule of(TrainingConfig cfg, long examples) {
    if (examples < 1) {
      throw new IllegalArgumentException("a site needs at least one example, got " + examples);
    }
    if (cfg.getDp().getCountPrivate() && !(cfg.getDp().getSamplingRate() > 0 && cfg.getLocalSteps() > 0)) {
      throw new IllegalArgumentException("a count-private study must fix dp.sampling_rate and local_steps: "
          + "otherwise q and the step count depend on (and reveal) the site's record count");
    }
    double q = cfg.getDp().getSamplingRate() > 0 ? cfg.getDp().getSamplingRate()
        : Math.min(1.0, Math.max(1, cfg.getBatchSize()) / (double) examples);
    long steps = cfg.getLocalSteps() > 0 ? cfg.getLocalSteps()
        : (long) Math.ceil(Math.max(1, cfg.getLocalEpochs()) / q - 1e-9);
    return new DpSchedule(q, steps);
  }
}

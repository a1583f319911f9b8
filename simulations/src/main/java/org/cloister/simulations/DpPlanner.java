package org.cloister.simulations;

import java.util.List;
import org.cloister.data.Dataset;
import org.cloister.dp.accounting.Calibration;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.NoOpEvent;
import org.cloister.protocol.DpSchedule;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.TrainingConfig;

/**
 * Turns a simulation's DP settings into the study's {@link DpConfig}: with a per-site budget, the
 * noise multiplier is the smallest one with which every site's planned rounds fit its
 * (epsilon, delta) (the largest of the per-site calibrations, each over
 * {@code rounds x steps per round} at that site's sampling rate), after the site's private
 * preprocessing release when the study has one.
 */
public final class DpPlanner {
  /** Noise multiplier of the preprocessing release when the study gives a noise multiplier instead of a budget. */
  public static final double PREPROCESSING_NOISE_WITHOUT_BUDGET = 10;

  private DpPlanner() {
  }

  /**
   * The noise multiplier of a site's private preprocessing release ({@link
   * org.cloister.data.PrivateFeatureStats}): on its own it costs {@link
   * org.cloister.data.PrivateFeatureStats#BUDGET_SHARE} of the site's epsilon at its delta; 0 (exact
   * statistics) in a non-private study.
   */
  public static double preprocessingNoise(SimulationConfig cfg) {
    DpSettings dp = cfg.dp();
    if (!dp.enabled()) {
      return 0;
    }
    if (Double.isNaN(dp.epsilon())) {
      return PREPROCESSING_NOISE_WITHOUT_BUDGET;
    }
    return org.cloister.data.PrivateFeatureStats.calibratedNoise(dp.epsilon(), dp.delta());
  }

  public static DpConfig plan(SimulationConfig cfg, TrainingConfig base, List<Dataset> partitions) {
    return plan(cfg, base, partitions, null);
  }

  /** @param prior what each site spends before training (its preprocessing release), or null */
  public static DpConfig plan(SimulationConfig cfg, TrainingConfig base, List<Dataset> partitions, DpEvent prior) {
    return planForSizes(cfg, base, partitions.stream().map(Dataset::size).toList(), prior);
  }

  /**
   * {@link #plan} from the sites' example counts alone (a generated cohort need not exist to be
   * planned); sigma is calibrated once per distinct size, the largest wins.
   */
  public static DpConfig planForSizes(SimulationConfig cfg, TrainingConfig base, List<Integer> sizes, DpEvent prior) {
    DpSettings dp = cfg.dp();
    if (!dp.enabled()) {
      return DpConfig.getDefaultInstance();
    }
    DpConfig.Builder b = DpConfig.newBuilder().setEnabled(true).setClipNorm(dp.clipNorm()).setCountPrivate(cfg.countPrivate());
    if (!Double.isNaN(dp.samplingRate())) {
      b.setSamplingRate(dp.samplingRate());
    }
    double sigma = dp.noiseMultiplier();
    if (Double.isNaN(sigma)) {
      Calibration cal = new Calibration(RdpAccountant::new);
      TrainingConfig withQ = base.toBuilder().setDp(b).build();
      sigma = 0;
      for (int size : new java.util.TreeSet<>(sizes)) {
        DpSchedule s = DpSchedule.of(withQ, size);
        sigma = Math.max(sigma, cal.noiseMultiplier(dp.epsilon(), dp.delta(), s.samplingRate(), s.steps() * cfg.rounds(),
            prior == null ? new NoOpEvent() : prior));
      }
      // a hair above the calibrated value, so rounding in the accountant never leaves the last round short
      sigma *= 1.0005;
    }
    return b.setNoiseMultiplier(sigma).build();
  }
}

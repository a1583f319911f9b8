package org.cloister.simulations;

import java.util.List;
import org.cloister.data.Dataset;
import org.cloister.dp.accounting.Calibration;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.protocol.DpSchedule;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.TrainingConfig;

/**
 * Turns a simulation's DP settings into the study's {@link DpConfig}: with a per-site budget, the
 * noise multiplier is the smallest one with which every site's planned rounds fit its
 * (epsilon, delta) (the largest of the per-site calibrations, each over
 * {@code rounds x steps per round} at that site's sampling rate).
 */
public final class DpPlanner {
  private DpPlanner() {
  }

  public static DpConfig plan(SimulationConfig cfg, TrainingConfig base, List<Dataset> partitions) {
    DpSettings dp = cfg.dp();
    if (!dp.enabled()) {
      return DpConfig.getDefaultInstance();
    }
    DpConfig.Builder b = DpConfig.newBuilder().setEnabled(true).setClipNorm(dp.clipNorm());
    if (!Double.isNaN(dp.samplingRate())) {
      b.setSamplingRate(dp.samplingRate());
    }
    double sigma = dp.noiseMultiplier();
    if (Double.isNaN(sigma)) {
      Calibration cal = new Calibration(RdpAccountant::new);
      TrainingConfig withQ = base.toBuilder().setDp(b).build();
      sigma = 0;
      for (Dataset d : partitions) {
        DpSchedule s = DpSchedule.of(withQ, d.size());
        sigma = Math.max(sigma, cal.noiseMultiplier(dp.epsilon(), dp.delta(), s.samplingRate(), s.steps() * cfg.rounds()));
      }
      // a hair above the calibrated value, so rounding in the accountant never leaves the last round short
      sigma *= 1.0005;
    }
    return b.setNoiseMultiplier(sigma).build();
  }
}

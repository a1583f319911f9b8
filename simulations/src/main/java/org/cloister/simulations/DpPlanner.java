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
   * planned): the smallest noise multiplier that meets every site's target, i.e. the largest of the
   * per-site calibrations (see {@link #noiseMultiplierForAll}).
   */
  public static DpConfig planForSizes(SimulationConfig cfg, TrainingConfig base, List<Integer> sizes, DpEvent prior) {
    return planForSizes(cfg, base, sizes, prior, new Calibration(RdpAccountant::new));
  }

  static DpConfig planForSizes(SimulationConfig cfg, TrainingConfig base, List<Integer> sizes, DpEvent prior,
                               Calibration calibration) {
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
      TrainingConfig withQ = base.toBuilder().setDp(b).build();
      List<DpSchedule> schedules = new java.util.TreeSet<>(sizes).stream()
          .map(size -> DpSchedule.of(withQ, size))
          .map(s -> new DpSchedule(s.samplingRate(), s.steps() * cfg.rounds()))
          .distinct().toList();
      sigma = noiseMultiplierForAll(calibration, dp.epsilon(), dp.delta(), schedules, prior == null ? new NoOpEvent() : prior);
    }
    return b.setNoiseMultiplier(sigma).build();
  }

  /**
   * The planned noise multiplier is this factor above the largest calibration: a hair more, so
   * rounding in the accountant never leaves the last round short.
   */
  static final double MARGIN = 1.0005;

  /**
   * {@link #MARGIN} times the largest of the noise multipliers calibrated for each schedule (q, total
   * steps) to (epsilon, delta) after {@code prior}, without calibrating each one. Epsilon decreases as
   * the noise multiplier grows (the assumption the calibration's bisection rests on), so a schedule
   * that meets its target at a noise multiplier meets it at every larger one. Hence: calibrate the
   * schedule with the largest sampling rate (the smallest site, usually the one needing the most
   * noise); check every other schedule at the resulting planned value with one accountant evaluation
   * each (in parallel); calibrate only those that fail, and plan with the largest. The result is
   * {@code MARGIN} times the largest calibration over a subset of the schedules, so never above what
   * a calibration of every schedule gives, and every schedule meets its target with it: those
   * checked met it at a value no larger, those that failed were calibrated and are covered by the
   * maximum. Exact, not a grid: no site gets more noise than the one that needs the most, none less
   * than it needs. Cost: one bisection plus one evaluation per schedule, instead of a bisection (~40
   * evaluations) per schedule; and the checks leave the sites' curves at the planned value in the
   * accountant's memo, where the sites' budget guards find them in round 1.
   */
  static double noiseMultiplierForAll(Calibration calibration, double epsilon, double delta, List<DpSchedule> schedules,
                                      DpEvent prior) {
    if (schedules.isEmpty()) {
      throw new IllegalArgumentException("no site to plan the noise for");
    }
    DpSchedule first = schedules.stream().max(java.util.Comparator.comparingDouble(DpSchedule::samplingRate)
        .thenComparingLong(DpSchedule::steps)).orElseThrow();
    double calibrated = calibration.noiseMultiplier(epsilon, delta, first.samplingRate(), first.steps(), prior);
    double planned = calibrated * MARGIN;
    List<DpSchedule> failing = schedules.parallelStream()
        .filter(s -> !s.equals(first) && !calibration.meetsTarget(planned, epsilon, delta, s.samplingRate(), s.steps(), prior))
        .toList();
    if (failing.isEmpty()) {
      return planned;
    }
    return MARGIN * Math.max(calibrated, failing.parallelStream()
        .mapToDouble(s -> calibration.noiseMultiplier(epsilon, delta, s.samplingRate(), s.steps(), prior))
        .max().orElseThrow());
  }
}

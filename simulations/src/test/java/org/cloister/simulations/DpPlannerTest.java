package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import org.cloister.data.PrivateFeatureStats;
import org.cloister.dp.accounting.Calibration;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.NoOpEvent;
import org.cloister.protocol.DpSchedule;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.simulations.engine.SyntheticCohort;
import org.junit.jupiter.api.Test;

/**
 * The study's noise multiplier over heavy-tailed cohorts: every site meets its target on its own
 * accountant, no site gets more noise than the largest per-site calibration, and the planner does
 * not run one bisection per distinct site size.
 */
class DpPlannerTest {
  private static final double EPSILON = 3.0;
  private static final double DELTA = 1e-5;
  // batch 4: sampling rates up to 0.5 (the accountant's curves for large q are the slow ones to compute)
  private static final TrainingConfig BASE = TrainingConfig.newBuilder().setLocalEpochs(1).setBatchSize(4).build();

  private static SimulationConfig study(int sites, int rounds) {
    return SimulationConfig.builder().studyId("planner").dataset("synthetic").sites(sites).rounds(rounds).localEpochs(1)
        .batchSize(4).seed(7).dp(DpSettings.budget(EPSILON, DELTA, 1.0)).build();
  }

  /** Heavy-tailed site sizes (Pareto 1.5, median 100, 8 to 10,000 rows), as the synthetic cohort draws them. */
  private static List<Integer> heavyTailed(int sites, long seed) {
    return SyntheticCohort.parse("synthetic", seed, sites).sizes();
  }

  /** What the site's own accountant says after all its rounds: its ledger's epsilon. */
  private static double siteEpsilon(int size, double sigma, int rounds, DpEvent prior) {
    DpSchedule s = DpSchedule.of(BASE.toBuilder().setDp(BASE.getDp().toBuilder().setEnabled(true)).build(), size);
    RdpAccountant own = new RdpAccountant();
    if (prior != null) {
      own.compose(prior, 1);
    }
    for (int r = 0; r < rounds; r++) { // one spend per round, as the site records it
      own.compose(Calibration.dpSgdStep(s.samplingRate(), sigma), s.steps());
    }
    return own.epsilon(DELTA);
  }

  @Test
  void everyHeavyTailedSiteMeetsItsTargetOnItsOwnAccountant() {
    List<Integer> sizes = heavyTailed(400, 11);
    assertThat(new TreeSet<>(sizes).size()).as("distinct sizes").isGreaterThan(100);
    assertThat(sizes.stream().mapToInt(Integer::intValue).max().orElseThrow()).isGreaterThan(1000);
    for (DpEvent prior : new DpEvent[] {null, new GaussianEvent(PrivateFeatureStats.calibratedNoise(EPSILON, DELTA))}) {
      int rounds = 3;
      double sigma = DpPlanner.planForSizes(study(sizes.size(), rounds), BASE, sizes, prior).getNoiseMultiplier();
      double worst = 0;
      for (int size : sizes) {
        double eps = siteEpsilon(size, sigma, rounds, prior);
        assertThat(eps).as("site of %d examples, sigma %s, prior %s", size, sigma, prior).isLessThanOrEqualTo(EPSILON);
        worst = Math.max(worst, eps);
      }
      // and the noise is not needlessly large: the neediest site uses nearly all of its budget
      assertThat(worst).as("largest site epsilon").isGreaterThan(EPSILON * 0.995);
    }
  }

  @Test
  void theNoiseIsTheLargestPerSiteCalibrationNotMore() {
    List<Integer> sizes = List.of(40, 57, 90, 150, 400, 1200, 5000, 40, 90);
    double planned = DpPlanner.planForSizes(study(sizes.size(), 2), BASE, sizes, null).getNoiseMultiplier();
    Calibration cal = new Calibration(RdpAccountant::new);
    double largest = 0;
    for (int size : new TreeSet<>(sizes)) { // the former planner: a bisection for every distinct size
      DpSchedule s = DpSchedule.of(BASE.toBuilder().setDp(BASE.getDp().toBuilder().setEnabled(true)).build(), size);
      largest = Math.max(largest, cal.noiseMultiplier(EPSILON, DELTA, s.samplingRate(), s.steps() * 2));
    }
    assertThat(planned).isLessThanOrEqualTo(largest * DpPlanner.MARGIN).isGreaterThan(largest * DpPlanner.MARGIN * (1 - 1e-5));
  }

  @Test
  void aScheduleNeedingMoreNoiseThanTheSmallestSiteIsCalibratedToo() {
    // the site with the largest q takes one step, the other 50,000: the second needs more noise
    List<DpSchedule> schedules = List.of(new DpSchedule(0.05, 1), new DpSchedule(0.01, 50_000));
    Calibration cal = new Calibration(RdpAccountant::new);
    double sigma = DpPlanner.noiseMultiplierForAll(cal, EPSILON, DELTA, schedules, new NoOpEvent());
    double second = cal.noiseMultiplier(EPSILON, DELTA, 0.01, 50_000);
    assertThat(cal.noiseMultiplier(EPSILON, DELTA, 0.05, 1)).isLessThan(second);
    assertThat(sigma).isEqualTo(second * DpPlanner.MARGIN);
    for (DpSchedule s : schedules) {
      assertThat(new RdpAccountant().compose(Calibration.dpSgdStep(s.samplingRate(), sigma), s.steps()).epsilon(DELTA))
          .isLessThanOrEqualTo(EPSILON);
    }
  }

  @Test
  void planningThousandsOfHeavyTailedSizesEvaluatesTheAccountantAboutOncePerSize() {
    List<Integer> sizes = heavyTailed(10_000, 42);
    int distinct = new TreeSet<>(sizes).size();
    AtomicLong evaluations = new AtomicLong();
    Calibration counting = new Calibration(() -> {
      evaluations.incrementAndGet();
      return new RdpAccountant();
    });
    double sigma = DpPlanner.planForSizes(study(sizes.size(), 3), BASE, sizes, null, counting).getNoiseMultiplier();
    assertThat(sigma).isPositive();
    // a bisection per distinct size took ~40 evaluations each; now one bisection and one check per size
    assertThat(evaluations.get()).as("accountant evaluations for %d distinct sizes", distinct).isLessThan(distinct + 200L);
  }
}

package org.cloister.coordinator.rounds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.service.StudyAdminService;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.ComposedEvent;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.DpEventJson;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.protocol.EvaluationHistograms;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.EvaluationConfig;
import org.cloister.protocol.v1.EvaluationRelease;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.junit.jupiter.api.Test;

/**
 * Issue 18, federated evaluation at the coordinator: its budget guard counts the evaluation before the round, it
 * keeps only accounted releases, and it derives accuracy and AUC from the summed noised counts.
 */
class FederatedEvaluationRoundTest {
  private static final EvaluationConfig EVAL = EvaluationConfig.newBuilder().setNoiseMultiplier(2.0).setBins(10).setClasses(2).build();
  private static final TrainingConfig TRAINING = TrainingConfig.newBuilder().setBatchSize(16).setLocalSteps(20)
      .setDp(DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(1.0).setClipNorm(1.0).setSamplingRate(0.1)).build();
  private static final TrainingConfig WITH_EVAL = TRAINING.toBuilder().setEvaluation(EVAL).build();

  private static JdbcStudyStore store() {
    JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite::memory:");
    store.openStudy("s", "fp", ModelArtifact.newBuilder().setStudyId("s").setVersion(1).setDimension(1)
        .setPayload(ByteString.copyFrom(FloatCodec.encode(new float[1]))).build());
    return store;
  }

  @Test
  void theBudgetGuardRefusesARoundWhoseEvaluationWouldOverrunNamingTheSite() {
    DpEvent training = BudgetGuard.plannedEvent(TRAINING, 1);
    assertThat(BudgetGuard.plannedEvent(WITH_EVAL, 1)).isEqualTo(new ComposedEvent(List.of(training, new GaussianEvent(2.0))));
    // a ceiling between one round of training and one round of training plus evaluation (independently composed)
    double trainingOnly = new RdpAccountant().compose(training, 1).epsilon(1e-5);
    double both = new RdpAccountant().compose(training, 1).compose(new GaussianEvent(2.0), 1).epsilon(1e-5);
    assertThat(both).isGreaterThan(trainingOnly);
    double ceiling = (trainingOnly + both) / 2;
    try (JdbcStudyStore store = store()) {
      BudgetGuard guard = new BudgetGuard(new PrivacyBudgets(new PrivacyBudgets.Ceiling(ceiling, 1e-5), Map.of()), store, "s",
          RdpAccountant::new);
      assertThat(guard.refusals(Map.of("site-1", 1L), TRAINING)).isEmpty();
      assertThat(guard.refusals(Map.of("site-1", 1L), WITH_EVAL)).containsOnlyKeys("site-1")
          .extractingByKey("site-1").asString().contains("training and federated evaluation").contains("would exceed");
      // the start-up check: no round fits with evaluation, and it says which site
      BudgetGuard.Plan plan = guard.plan(Map.of("site-1", 1L), 0, WITH_EVAL, 3, 1, 0);
      assertThat(plan.fits()).containsEntry("site-1", 0);
      assertThat(plan.refusal()).contains("site site-1").contains("fits 0 of the 3 remaining");
      assertThat(guard.plan(Map.of("site-1", 1L), 0, TRAINING, 1, 1, 0).refusal()).isNull();
    }
  }

  @Test
  void theFinalEvaluationIsCountedBeforeItIsSpentAndASiteItWouldOverrunIsNamed() {
    DpEvent training = BudgetGuard.plannedEvent(TRAINING, 1);
    assertThat(BudgetGuard.finalEvaluationEvent(TRAINING)).isNull();
    assertThat(BudgetGuard.finalEvaluationEvent(WITH_EVAL)).isEqualTo(new GaussianEvent(2.0));
    double evalOnly = new RdpAccountant().compose(new GaussianEvent(2.0), 1).epsilon(1e-5);
    double oneRound = new RdpAccountant().compose(training, 1).compose(new GaussianEvent(2.0), 1).epsilon(1e-5);
    double oneRoundThenFinal = new RdpAccountant().compose(training, 1).compose(new GaussianEvent(2.0), 2).epsilon(1e-5);
    assertThat(oneRoundThenFinal).isGreaterThan(oneRound);
    try (JdbcStudyStore store = store()) {
      // site-1's ceiling is below the evaluation alone: it is not asked, and the reason names the ceiling
      BudgetGuard guard = new BudgetGuard(new PrivacyBudgets(new PrivacyBudgets.Ceiling(100, 1e-5),
          Map.of("site-1", new PrivacyBudgets.Ceiling(evalOnly * 0.99, 1e-5))), store, "s", RdpAccountant::new);
      Map<String, String> refused = guard.finalEvaluationRefusals(java.util.Set.of("site-1", "site-2"), WITH_EVAL);
      assertThat(refused).containsOnlyKeys("site-1");
      assertThat(refused.get("site-1")).contains("the final evaluation would take the projected epsilon to")
          .contains("over the ceiling");
      assertThat(guard.finalEvaluationRefusals(java.util.Set.of("site-1"), TRAINING)).isEmpty();
      // the start-up check: one round fits, the final evaluation after it does not; the plan says so, naming the site
      BudgetGuard between = new BudgetGuard(new PrivacyBudgets(new PrivacyBudgets.Ceiling((oneRound + oneRoundThenFinal) / 2,
          1e-5), Map.of()), store, "s", RdpAccountant::new);
      BudgetGuard.Plan plan = between.plan(Map.of("site-1", 1L), 0, WITH_EVAL, 1, 1, 0);
      assertThat(plan.refusal()).isNull();
      assertThat(plan.fits()).containsEntry("site-1", 1);
      assertThat(plan.lines()).singleElement().asString().contains("site site-1")
          .contains("leaves no room for the final evaluation");
      assertThat(between.plan(Map.of("site-1", 1L), 0, TRAINING, 1, 1, 0).lines()).isEmpty();
    }
  }

  @Test
  void theFinalEvaluationsSpendIsTheEvaluationAloneAndIsAccepted() {
    EvaluationRelease ok = release(4, new double[20]);
    assertThat(RoundEngine.evaluationProblem(WITH_EVAL, ok, 4, DpEventJson.toJson(new GaussianEvent(2.0)))).isNull();
    assertThat(RoundEngine.evaluationProblem(WITH_EVAL, ok, 4, DpEventJson.toJson(new GaussianEvent(0.5))))
        .contains("would be unaccounted");
    var history = List.of(new org.cloister.coordinator.budget.BudgetReport.Point(1, "r1",
            DpEventJson.toJson(new ComposedEvent(List.of(BudgetGuard.plannedEvent(TRAINING, 1), new GaussianEvent(2.0)))),
            1.0, 1.0, "aggregated"),
        new org.cloister.coordinator.budget.BudgetReport.Point(2, "final-evaluation-x",
            DpEventJson.toJson(new GaussianEvent(2.0)), 1.1, 1.1, "received"));
    var site = new org.cloister.coordinator.budget.BudgetReport.SiteBudget("site-1", 1e-5, 3.0, 1.1, 1.1, history, Map.of(),
        "ds", 1.1, 1, Map.of(), null);
    assertThat(org.cloister.coordinator.budget.BudgetReport.evaluationReleases(site)).isEqualTo(2);
    assertThat(org.cloister.coordinator.budget.BudgetReport.finalEvaluationReleases(site)).isEqualTo(1);
    assertThat(org.cloister.coordinator.budget.BudgetReport.toMaps(List.of(site)).get(0))
        .containsEntry("final_evaluation_releases", 1);
  }

  private static EvaluationRelease release(long version, double... counts) {
    EvaluationRelease.Builder b = EvaluationRelease.newBuilder().setLayout(1).setModelVersion(version).setClasses(2).setBins(10)
        .setNoiseStddev(2.0);
    for (double c : counts) {
      b.addCounts(c);
    }
    return b.build();
  }

  @Test
  void onlyAReleaseWhoseEventIsInTheSignedSpendIsKept() {
    double[] counts = new double[20];
    EvaluationRelease ok = release(4, counts);
    String accounted = DpEventJson.toJson(new ComposedEvent(List.of(BudgetGuard.plannedEvent(TRAINING, 1), new GaussianEvent(2.0))));
    String trainingOnly = DpEventJson.toJson(BudgetGuard.plannedEvent(TRAINING, 1));
    assertThat(RoundEngine.evaluationProblem(WITH_EVAL, ok, 4, accounted)).isNull();
    assertThat(RoundEngine.evaluationProblem(WITH_EVAL, ok, 4, trainingOnly)).contains("would be unaccounted");
    assertThat(RoundEngine.evaluationProblem(WITH_EVAL, ok, 4,
        DpEventJson.toJson(new ComposedEvent(List.of(BudgetGuard.plannedEvent(TRAINING, 1), new GaussianEvent(0.5))))))
        .contains("would be unaccounted");
    assertThat(RoundEngine.evaluationProblem(TRAINING, ok, 4, accounted)).contains("asks for no federated evaluation");
    assertThat(RoundEngine.evaluationProblem(WITH_EVAL, ok, 3, accounted)).contains("not the round's 3");
    assertThat(RoundEngine.evaluationProblem(WITH_EVAL, release(4, new double[18]), 4, accounted)).contains("layout");
    assertThat(RoundEngine.evaluationProblem(WITH_EVAL, ok.toBuilder().setNoiseStddev(1.0).build(), 4, accounted))
        .contains("below the study's");
    assertThat(RoundEngine.evaluationProblem(WITH_EVAL, ok.toBuilder().setCounts(3, Double.NaN).build(), 4, accounted))
        .contains("non-finite");
  }

  @Test
  void accuracyAndAucFromSummedHistogramsMatchTheScoresTheyBin() {
    // two sites' exact scores (bin centres), binned: the histogram metrics equal the direct computation
    SplittableRandom r = new SplittableRandom(11);
    List<double[]> scored = new ArrayList<>(); // {label, score}
    double[][] site = new double[2][20];
    for (int i = 0; i < 600; i++) {
      int label = r.nextInt(2);
      int bin = Math.min(9, Math.max(0, (int) (5 + (label == 1 ? 2 : -2) + r.nextGaussian() * 2.5)));
      double score = (bin + 0.5) / 10;
      scored.add(new double[] {label, score});
      site[i % 2][label * 10 + EvaluationHistograms.bin(score, 10)]++;
    }
    List<ReceivedUpdate> updates = List.of(
        new ReceivedUpdate("site-1", UpdateEnvelope.newBuilder().setEvaluation(release(4, site[0])).build(), null),
        new ReceivedUpdate("site-2", UpdateEnvelope.newBuilder().setEvaluation(release(4, site[1])).build(), null),
        new ReceivedUpdate("site-3", UpdateEnvelope.getDefaultInstance(), null));
    RoundEvaluation sum = RoundEngine.sumEvaluations(updates);
    assertThat(sum.sites()).isEqualTo(2);
    assertThat(sum.noiseVariance()).isEqualTo(8.0);
    assertThat(sum.modelVersion()).isEqualTo(4);
    // direct: accuracy at 0.5, AUC as P(score+ > score-) + P(tie)/2
    double correct = 0;
    double wins = 0;
    long pairs = 0;
    for (double[] a : scored) {
      correct += (a[1] >= 0.5) == (a[0] == 1) ? 1 : 0;
      if (a[0] == 1) {
        for (double[] b : scored) {
          if (b[0] == 0) {
            wins += a[1] > b[1] ? 1 : a[1] == b[1] ? 0.5 : 0;
            pairs++;
          }
        }
      }
    }
    EvaluationHistograms.Metrics m = sum.metrics(1);
    assertThat(m.examples()).isEqualTo(600);
    assertThat(m.accuracy()).isCloseTo(correct / 600, within(1e-12));
    assertThat(m.auc()).isCloseTo(wins / pairs, within(1e-12));
    // the standard errors: the noise of 20 counts of variance 8 against 600 examples; about sqrt(20 * 8) / 600 * ~0.5
    assertThat(m.accuracySe()).isBetween(0.003, 0.03);
    assertThat(m.aucSe()).isBetween(0.003, 0.05);
    assertThat(sum.metrics(1)).isEqualTo(m); // seeded: the same figures every time
    assertThat(RoundEngine.sumEvaluations(List.of(updates.get(2)))).isNull();
  }

  @Test
  void theBudgetReportSaysWhichSpendsIncludeAnEvaluationRelease() {
    DpEvent training = BudgetGuard.plannedEvent(TRAINING, 1);
    List<org.cloister.coordinator.budget.BudgetReport.Point> history = new ArrayList<>();
    // round 1: private preprocessing, training, evaluation; round 2: training, evaluation; round 3: training only
    // (an old ledger); round 4: preprocessing and training (no evaluation: the Gaussian comes first)
    DpEvent[] events = {new ComposedEvent(List.of(new GaussianEvent(30), training, new GaussianEvent(2.0))),
        new ComposedEvent(List.of(training, new GaussianEvent(2.0))), training,
        new ComposedEvent(List.of(new GaussianEvent(30), training))};
    for (int i = 0; i < events.length; i++) {
      history.add(new org.cloister.coordinator.budget.BudgetReport.Point(i + 1, "r" + (i + 1), DpEventJson.toJson(events[i]),
          1.0, 1.0, "aggregated"));
    }
    var site = new org.cloister.coordinator.budget.BudgetReport.SiteBudget("site-1", 1e-5, 3.0, 1.0, 1.0, history, Map.of(),
        "ds", 1.0, 1, Map.of(), null);
    assertThat(org.cloister.coordinator.budget.BudgetReport.evaluationReleases(site)).isEqualTo(2);
    assertThat(org.cloister.coordinator.budget.BudgetReport.toMaps(List.of(site)).get(0)).containsEntry("evaluation_releases", 2);
    assertThat(StudyAdminService.evaluationLabel(TRAINING)).isEqualTo("no federated evaluation");
    assertThat(StudyAdminService.evaluationLabel(WITH_EVAL)).contains("Gaussian noise multiplier 2.0").contains("10 score bins");
  }

  @Test
  void aRoundsEvaluationIsStoredWithItAndOldRoundRecordsStillLoad() {
    try (JdbcStudyStore store = store()) {
      RoundEvaluation e = new RoundEvaluation(1, 2, 10, 2, java.util.Collections.nCopies(20, 3.5), 8.0);
      store.commitRound("s", new RoundResult(1, "r1", 1, List.of("a"), List.of("a"), Map.of(), 2, true, Map.of(), 1, Map.of(), e),
          null, List.of());
      store.commitRound("s", new RoundResult(2, "r2", 1, List.of("a"), List.of("a"), Map.of(), 3, true, Map.of(), 1, Map.of()),
          null, List.of());
      List<RoundResult> back = store.rounds("s");
      assertThat(back.get(0).evaluation()).isEqualTo(e);
      assertThat(back.get(1).evaluation()).isNull();
    }
  }
}

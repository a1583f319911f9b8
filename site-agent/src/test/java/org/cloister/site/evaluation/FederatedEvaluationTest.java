package org.cloister.site.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.cloister.data.BuiltinDatasets;
import org.cloister.data.Dataset;
import org.cloister.data.HoldoutSplit;
import org.cloister.dp.accounting.pld.PldAccountant;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.ComposedEvent;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.DpEventJson;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.cloister.protocol.EvaluationHistograms;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.EvaluationConfig;
import org.cloister.protocol.v1.EvaluationRelease;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.dp.DpSgdLocalTrainer;
import org.cloister.site.training.PrivacyBudget;
import org.cloister.site.training.RoundDeclinedException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * Issue 18, federated evaluation at the site: the held-out rows are never trained on, the release's noise has the
 * accounted variance, and the round's signed event is training ⊕ evaluation, composed exactly.
 */
class FederatedEvaluationTest {
  private static final double Z = 4.0;
  private static final EvaluationConfig EVAL = EvaluationConfig.newBuilder().setNoiseMultiplier(Z).setBins(10).setClasses(2).build();
  private static final RoundTask TASK = RoundTask.newBuilder().setStudyId("s").setRound(1).setRoundId("r-1")
      .setConfig(TrainingConfig.newBuilder().setLocalSteps(4).setBatchSize(16).setLearningRate(0.5)
          .setDp(DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(1.5).setClipNorm(1.0).setSamplingRate(0.1))
          .setEvaluation(EVAL))
      .build();

  private static Dataset wdbc() {
    Dataset all = BuiltinDatasets.wdbc();
    return BuiltinDatasets.wdbcPreprocessing().resolvePublic().apply(all);
  }

  private static MultiLayerNetwork net() {
    return ModelZoo.newNetwork(ModelZoo.logisticRegression(), 30, 2, 1, new Sgd(0.5), DataType.FLOAT);
  }

  private static float[] w0() {
    return Parameters.get(ModelZoo.newNetwork(ModelZoo.logisticRegression(), 30, 2, 1, null, DataType.FLOAT));
  }

  private static DpSgdLocalTrainer trainer(Dataset train, Dataset holdout) {
    return new DpSgdLocalTrainer(net(), train, SecureGaussianNoise.seeded(3), new PrivacyBudget(50, 1e-5), List::of,
        new SplittableRandom(5), null, false, holdout == null ? null : new HoldoutEvaluator(holdout, SecureGaussianNoise.seeded(9)));
  }

  @Test
  void theTrainingSamplerNeverTouchesHeldOutRows() {
    Dataset data = wdbc();
    HoldoutSplit split = HoldoutSplit.of(data, data, 0.25, "site-1/wdbc");
    // the same training rows with two entirely different held-out splits: the update is bit-identical (training
    // reads nothing of the held-out rows) ...
    Dataset otherHoldout = data.subset(IntStream.range(0, 50).toArray());
    LocalUpdate a = trainer(split.train(), split.holdout()).train(w0(), TASK);
    LocalUpdate b = trainer(split.train(), otherHoldout).train(w0(), TASK);
    assertThat(b.delta()).isEqualTo(a.delta());
    assertThat(a.numExamples()).isEqualTo(split.train().size()).isLessThan(data.size());
    // ... while training on every row (the held-out ones included) changes it
    LocalUpdate all = trainer(data, split.holdout()).train(w0(), TASK);
    assertThat(all.delta()).isNotEqualTo(a.delta());
    // and the release counts exactly the held-out rows (noise aside)
    MultiLayerNetwork scored = net();
    Parameters.set(scored, w0());
    double total = 0;
    for (double c : new HoldoutEvaluator(split.holdout(), SecureGaussianNoise.seeded(1)).counts(scored, EVAL)) {
      total += c;
    }
    assertThat(total).isEqualTo(split.holdout().size());
  }

  @Test
  void theLedgerEventIsTrainingComposedWithEvaluationAndEpsilonIsTheirComposition() {
    Dataset data = wdbc();
    HoldoutSplit split = HoldoutSplit.of(data, data, 0.25, "site-1/wdbc");
    LocalUpdate withEval = trainer(split.train(), split.holdout()).train(w0(), TASK);
    LocalUpdate without = trainer(split.train(), null).train(w0(), TASK);
    assertThat(without.evaluation()).isNull();
    EvaluationRelease r = withEval.evaluation();
    assertThat(r.getCountsList()).hasSize(EvaluationHistograms.cells(2, 10));
    DpEvent training = without.spent();
    // what the signed spend carries (event_json), read back as any party reads it
    DpEvent signed = DpEventJson.fromJson(DpEventJson.toJson(withEval.spent()));
    assertThat(signed).isEqualTo(new ComposedEvent(List.of(training, new GaussianEvent(Z))));
    // independently: the Gaussian mechanism's RDP is alpha / (2 z^2) at every order (Mironov 2017, Prop. 7)
    RdpAccountant trainingOnly = new RdpAccountant().compose(training, 1);
    RdpAccountant composed = new RdpAccountant().compose(signed, 1);
    double[] orders = composed.orders();
    for (int i = 0; i < orders.length; i++) {
      if (Double.isFinite(orders[i])) {
        assertThat(composed.rdp()[i]).isCloseTo(trainingOnly.rdp()[i] + orders[i] / (2 * Z * Z),
            within(1e-12 * Math.max(1, composed.rdp()[i])));
      }
    }
    // the site's reported epsilon is the composition (at the delta its guard uses), strictly above training alone
    assertThat(withEval.epsilonAfter()).isGreaterThan(without.epsilonAfter());
    assertThat(withEval.epsilonAfter()).isCloseTo(composed.epsilon(1e-5), within(1e-6 * withEval.epsilonAfter()));
    // the PLD accountant interprets the same event (tighter, and still above training alone)
    double pld = new PldAccountant().compose(signed, 1).epsilon(1e-5);
    double pldTraining = new PldAccountant().compose(training, 1).epsilon(1e-5);
    assertThat(pld).isGreaterThan(pldTraining).isLessThanOrEqualTo(composed.epsilon(1e-5) * (1 + 1e-9));
  }

  @Test
  void theSiteGuardCountsTheEvaluationBeforeTheRoundSpendsIt() {
    Dataset data = wdbc();
    HoldoutSplit split = HoldoutSplit.of(data, data, 0.25, "site-1/wdbc");
    // a ceiling the training round fits but training plus a noiseless-ish evaluation does not
    double trainingEps = trainer(split.train(), null).train(w0(), TASK).epsilonAfter();
    EvaluationConfig costly = EVAL.toBuilder().setNoiseMultiplier(0.3).build();
    RoundTask task = TASK.toBuilder().setConfig(TASK.getConfig().toBuilder().setEvaluation(costly)).build();
    DpSgdLocalTrainer site = new DpSgdLocalTrainer(net(), split.train(), SecureGaussianNoise.seeded(3),
        new PrivacyBudget(trainingEps * 1.5, 1e-5), List::of, new SplittableRandom(5), null, false,
        new HoldoutEvaluator(split.holdout(), SecureGaussianNoise.seeded(9)));
    assertThatThrownBy(() -> site.train(w0(), task)).isInstanceOf(RoundDeclinedException.class)
        .hasMessageContaining("privacy budget");
    // evaluation without noise is refused before anything is spent
    RoundTask noiseless = TASK.toBuilder().setConfig(TASK.getConfig().toBuilder()
        .setEvaluation(EVAL.toBuilder().setNoiseMultiplier(0))).build();
    assertThatThrownBy(() -> trainer(split.train(), split.holdout()).train(w0(), noiseless))
        .isInstanceOf(RoundDeclinedException.class).hasMessageContaining("noise multiplier 0.0");
  }

  /** Issue 18: the final model's evaluation after the last round spends the evaluation alone, checked first. */
  @Test
  void theFinalEvaluationReleasesOnlyTheNoisedCountsAndItsEventIsCheckedAgainstTheBudgetFirst() {
    Dataset data = wdbc();
    HoldoutSplit split = HoldoutSplit.of(data, data, 0.25, "site-1/wdbc");
    RoundTask last = TASK.toBuilder().setRound(2).setRoundId("final-evaluation-1").setFinalEvaluation(true)
        .setModel(org.cloister.protocol.v1.ModelArtifact.newBuilder().setVersion(7)).build();
    LocalUpdate u = trainer(split.train(), split.holdout()).evaluateOnly(w0(), last);
    assertThat(u.delta()).isEmpty(); // nothing trained, no update
    assertThat(DpEventJson.fromJson(DpEventJson.toJson(u.spent()))).isEqualTo(new GaussianEvent(Z));
    assertThat(u.evaluation().getModelVersion()).isEqualTo(7);
    assertThat(u.evaluation().getCountsList()).hasSize(EvaluationHistograms.cells(2, 10));
    assertThat(u.epsilonAfter()).isCloseTo(new RdpAccountant().compose(new GaussianEvent(Z), 1).epsilon(1e-5),
        within(1e-3));
    // a deployed site's trainer (the zoo's model for the site's data, DP-SGD inside) evaluates the same way
    org.cloister.site.plain.ZooModelTrainer zoo = new org.cloister.site.plain.ZooModelTrainer(split.train(), 1,
        net -> new DpSgdLocalTrainer(net, split.train(), SecureGaussianNoise.seeded(3), new PrivacyBudget(50, 1e-5),
            List::of, new SplittableRandom(5), null, false, new HoldoutEvaluator(split.holdout(), SecureGaussianNoise.seeded(9))));
    zoo.joined("logreg", w0().length);
    assertThat(zoo.evaluateOnly(w0(), last).spent()).isEqualTo(new GaussianEvent(Z));
    // a site whose history plus the evaluation would pass its ceiling releases nothing and says why
    DpEvent history = trainer(split.train(), null).train(w0(), TASK).spent();
    double before = new RdpAccountant().compose(history, 1).epsilon(1e-5);
    double after = new RdpAccountant().compose(history, 1).compose(new GaussianEvent(Z), 1).epsilon(1e-5);
    DpSgdLocalTrainer full = new DpSgdLocalTrainer(net(), split.train(), SecureGaussianNoise.seeded(3),
        new PrivacyBudget((before + after) / 2, 1e-5), () -> List.of(history), new SplittableRandom(5), null, false,
        new HoldoutEvaluator(split.holdout(), SecureGaussianNoise.seeded(9)));
    assertThatThrownBy(() -> full.evaluateOnly(w0(), last)).isInstanceOf(RoundDeclinedException.class)
        .hasMessageContaining("privacy budget: the final evaluation would take epsilon to").hasMessageContaining("nothing released");
    // a site without a held-out split does not evaluate
    assertThatThrownBy(() -> trainer(split.train(), null).evaluateOnly(w0(), last)).isInstanceOf(RoundDeclinedException.class)
        .hasMessageContaining("no held-out split");
  }

  @Test
  void theReleasedCountsCarryGaussianNoiseOfTheAccountedVariance() {
    // seeded: the same figures every run. 200 cells x 400 releases = 80,000 noise draws
    Dataset data = wdbc();
    Dataset holdout = data.subset(IntStream.range(0, 100).toArray());
    EvaluationConfig cfg = EVAL.toBuilder().setBins(100).build();
    MultiLayerNetwork scored = net();
    Parameters.set(scored, w0());
    HoldoutEvaluator site = new HoldoutEvaluator(holdout, SecureGaussianNoise.seeded(2026));
    double[] exact = site.counts(scored, cfg);
    int n = 0;
    double sum = 0;
    double sumSq = 0;
    double sd = 0;
    for (int k = 0; k < 400; k++) {
      EvaluationRelease r = site.release(scored, cfg, 7);
      assertThat(r.getModelVersion()).isEqualTo(7);
      sd = r.getNoiseStddev();
      for (int i = 0; i < exact.length; i++) {
        double e = r.getCounts(i) - exact[i];
        sum += e;
        sumSq += e * e;
        n++;
      }
    }
    assertThat(sd).isCloseTo(Z, within(1e-6 * Z)); // the grid's noise: sigma * sensitivity, up to ~2^-35 relative
    double mean = sum / n;
    double variance = sumSq / n - mean * mean;
    // mean 0 within 4 standard errors (sd/sqrt(n) = 0.014); variance z^2 within 4 standard errors (sqrt(2/n) = 0.5%)
    assertThat(mean).isCloseTo(0, within(4 * Z / Math.sqrt(n)));
    assertThat(variance / (Z * Z)).isCloseTo(1, within(4 * Math.sqrt(2.0 / n)));
  }
}

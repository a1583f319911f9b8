package org.cloister.site.dp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.SplittableRandom;
import org.cloister.data.BuiltinDatasets;
import org.cloister.data.Dataset;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.cloister.protocol.DpSchedule;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.training.PrivacyBudget;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * Issue 12 item 5: in count-private mode nothing a site hands the coordinator (its Join weight,
 * the update's weight, metrics and signed DP event) depends on how many records it holds.
 */
class CountPrivateTest {
  private static final RoundTask TASK = RoundTask.newBuilder().setStudyId("s").setRound(1).setRoundId("r-1")
      .setConfig(TrainingConfig.newBuilder().setLocalSteps(3).setBatchSize(16).setLearningRate(0.5)
          .setDp(DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(2.0).setClipNorm(1.0).setSamplingRate(0.25)
              .setCountPrivate(true)))
      .build();

  private static Dataset rows(int n) {
    Dataset all = BuiltinDatasets.wdbc();
    return BuiltinDatasets.wdbcPreprocessing().resolvePublic().apply(all.subset(java.util.stream.IntStream.range(0, n).toArray()));
  }

  private static DpSgdLocalTrainer trainer(Dataset data, boolean countPrivate) {
    MultiLayerNetwork net = ModelZoo.newNetwork(ModelZoo.logisticRegression(), 30, 2, 1, new Sgd(0.5), DataType.FLOAT);
    return new DpSgdLocalTrainer(net, data, SecureGaussianNoise.seeded(3), new PrivacyBudget(100, 1e-5), List::of,
        new SplittableRandom(5), new GaussianEvent(20), countPrivate);
  }

  @Test
  void twoSitesWithDifferentCountsReleaseIdenticalMetadata() {
    DpSgdLocalTrainer small = trainer(rows(60), true);
    DpSgdLocalTrainer large = trainer(rows(400), true);
    assertThat(small.numExamples()).isEqualTo(1).isEqualTo(large.numExamples()); // what Join carries
    float[] w0 = Parameters.get(ModelZoo.newNetwork(ModelZoo.logisticRegression(), 30, 2, 1, null, DataType.FLOAT));
    LocalUpdate a = small.train(w0, TASK);
    LocalUpdate b = large.train(w0, TASK);
    assertThat(a.numExamples()).isEqualTo(1).isEqualTo(b.numExamples()); // the envelope's weight: equal weights
    assertThat(a.metrics()).isEqualTo(b.metrics()).doesNotContainKey("steps");
    assertThat(a.spent()).isEqualTo(b.spent()); // the signed spend (preprocessing composed with the first round)
    assertThat(a.epsilonAfter()).isEqualTo(b.epsilonAfter());
  }

  @Test
  void theDefaultModeReleasesTheCountAndTheModesMustAgree() {
    TrainingConfig open = TASK.getConfig().toBuilder().setDp(TASK.getConfig().getDp().toBuilder().setCountPrivate(false)).build();
    DpSgdLocalTrainer site = trainer(rows(60), false);
    assertThat(site.numExamples()).isEqualTo(60);
    float[] w0 = Parameters.get(ModelZoo.newNetwork(ModelZoo.logisticRegression(), 30, 2, 1, null, DataType.FLOAT));
    LocalUpdate u = site.train(w0, TASK.toBuilder().setConfig(open).build());
    assertThat(u.numExamples()).isEqualTo(60);
    assertThat(u.metrics()).containsKey("steps");
    // a site that is not count-private refuses a count-private round (and the other way round)
    assertThatThrownBy(() -> trainer(rows(60), false).train(w0, TASK)).hasMessageContaining("count-private");
    // a count-private study that lets q or the step count follow n is refused
    TrainingConfig byEpochs = TASK.getConfig().toBuilder().setLocalSteps(0).setLocalEpochs(1).build();
    assertThatThrownBy(() -> DpSchedule.of(byEpochs, 60)).hasMessageContaining("must fix dp.sampling_rate and local_steps");
  }
}

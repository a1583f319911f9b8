package org.cloister.examples.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.List;
import java.util.SplittableRandom;
import org.cloister.data.BuiltinDatasets;
import org.cloister.data.Dataset;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.cloister.models.ModelArchitecture;
import org.cloister.models.ModelArchitectures;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.dp.DpSgdLocalTrainer;
import org.cloister.site.training.DpCompatibility;
import org.cloister.site.training.PrivacyBudget;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;

/** docs/extending.md, "Add a model": the plug-in is found by name and a site trains it with DP-SGD. */
class CustomModelTest {

  @Test
  void theModelIsFoundByNameThroughServiceLoaderBesideTheBuiltIns() {
    ModelArchitectures installed = ModelArchitectures.installed();
    assertThat(installed.names()).contains("logreg", "mlp", "cnn", "mlp-64-32");
    assertThat(ModelZoo.byName("mlp-64-32")).isInstanceOf(DeepMlpProvider.DeepMlp.class);
  }

  @Test
  void itHasTheParametersItsLayersDeclare() {
    MultiLayerNetwork net = ModelZoo.newNetwork(ModelZoo.byName("mlp-64-32"), 30, 2, 1, null, DataType.FLOAT);
    // (30*64 + 64) + (64*32 + 32) + (32*2 + 2), by hand
    assertThat(Parameters.get(net)).hasSize(1984 + 2080 + 66);
  }

  @Test
  void aSiteTrainsItWithDpSgdUnderItsBudget() {
    ModelArchitecture arch = ModelZoo.byName("mlp-64-32");
    MultiLayerNetwork net = ModelZoo.newNetwork(arch, 30, 2, 7, new Sgd(0.1), DataType.FLOAT);
    assertThatCode(() -> DpCompatibility.check(net)).doesNotThrowAnyException();
    Dataset all = BuiltinDatasets.wdbc();
    Dataset data = BuiltinDatasets.wdbcPreprocessing().resolvePublic()
        .apply(all.subset(java.util.stream.IntStream.range(0, 200).toArray()));
    float[] w0 = Parameters.get(net);
    RoundTask task = RoundTask.newBuilder().setStudyId("s").setRound(1).setRoundId("r-1")
        .setModel(ModelArtifact.newBuilder().setVersion(1).setDimension(w0.length))
        .setConfig(TrainingConfig.newBuilder().setLocalEpochs(1).setBatchSize(32).setLearningRate(0.1).setSeed(7)
            .setDp(DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(1.5).setClipNorm(1.0)))
        .build();
    DpSgdLocalTrainer trainer = new DpSgdLocalTrainer(net, data, SecureGaussianNoise.seeded(3), new PrivacyBudget(10, 1e-5),
        List::of, new SplittableRandom(5));
    LocalUpdate update = trainer.train(w0, task);
    assertThat(update.delta()).hasSize(w0.length);
    double norm = 0;
    for (float v : update.delta()) {
      assertThat(Float.isFinite(v)).isTrue();
      norm += (double) v * v;
    }
    assertThat(norm).isPositive();
    assertThat(update.spent()).isNotNull();
    assertThat(update.epsilonAfter()).isBetween(0.0, 10.0);
  }
}

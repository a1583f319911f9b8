package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.cloister.models.ModelArchitecture;
import org.cloister.models.ModelZoo;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

class DpCompatibilityTest {

  private static OutputLayer out(int nIn) {
    return new OutputLayer.Builder(LossFunction.MCXENT).nIn(nIn).nOut(2).activation(Activation.SOFTMAX).build();
  }

  @Test
  void batchNormalizationIsRefusedNamingTheLayerAndTheAlternative() {
    MultiLayerNetwork net = TestNets.init(TestNets.base(1, new Sgd(0.1)).list()
        .layer(new DenseLayer.Builder().nIn(4).nOut(3).build())
        .layer(new BatchNormalization.Builder().nOut(3).build())
        .layer(out(3)).build());
    assertThatThrownBy(() -> DpCompatibility.check(net))
        .isInstanceOf(UnsupportedLayerException.class)
        .hasMessageContaining("layer 1 (BatchNormalization)")
        .hasMessageContaining("mixes the examples of a batch")
        .hasMessageContaining("layer or group normalization");
    assertThatThrownBy(() -> DpSgd.builder().clipNorm(1).noiseMultiplier(1).samplingRate(0.1)
        .noise(new SeededGaussianNoise(1)).accountant(new GaussianRdpTestAccountant()).build(net))
        .isInstanceOf(UnsupportedLayerException.class).hasMessageContaining("BatchNormalization");
  }

  @Test
  void dropoutAndUnsupportedLayersAreRefused() {
    MultiLayerNetwork dropout = TestNets.init(TestNets.base(1, new Sgd(0.1)).list()
        .layer(new DenseLayer.Builder().nIn(4).nOut(3).dropOut(0.5).build())
        .layer(out(3)).build());
    assertThatThrownBy(() -> DpCompatibility.check(dropout)).hasMessageContaining("layer 0 (DenseLayer)")
        .hasMessageContaining("dropout");
    MultiLayerNetwork lstm = TestNets.init(TestNets.base(1, new Sgd(0.1)).list()
        .layer(new LSTM.Builder().nIn(4).nOut(3).build())
        .layer(new RnnOutputLayer.Builder(LossFunction.MCXENT).nIn(3).nOut(2).activation(Activation.SOFTMAX).build())
        .build());
    assertThatThrownBy(() -> DpCompatibility.check(lstm)).hasMessageContaining("layer 0 (LSTM)")
        .hasMessageContaining("no per-example gradient rule").hasMessageContaining("supported: DenseLayer");
    MultiLayerNetwork noOutput = TestNets.init(TestNets.base(1, new Sgd(0.1)).list()
        .layer(new DenseLayer.Builder().nIn(4).nOut(3).build()).build());
    assertThatThrownBy(() -> DpCompatibility.check(noOutput)).hasMessageContaining("needs an OutputLayer");
  }

  @Test
  void everyModelZooArchitectureDeclaredDpCompatibleIsAccepted() {
    for (String name : ModelZoo.names()) {
      ModelArchitecture arch = ModelZoo.byName(name);
      org.deeplearning4j.nn.api.Model net = ModelZoo.newModel(arch, name.equals("cnn") ? 784 : 30, 2, 1, null,
          DataType.FLOAT);
      if (arch.dpCompatible()) {
        assertThatCode(() -> DpCompatibility.check(net)).as(name).doesNotThrowAnyException();
      } else {
        assertThatThrownBy(() -> DpCompatibility.check(net)).as(name).isInstanceOf(UnsupportedLayerException.class);
      }
    }
    assertThat(ModelZoo.names()).contains("logreg", "mlp", "cnn", "skipmlp");
  }
}

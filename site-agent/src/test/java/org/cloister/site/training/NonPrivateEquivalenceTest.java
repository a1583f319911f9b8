package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.stream.Stream;
import org.cloister.data.Dataset;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer.PoolingType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * With sigma = 0, C huge and q = 1 (every example in every batch, so the expected and actual
 * batch sizes agree) DP-SGD is ordinary full-batch training: it must match DL4J's fit step for
 * step, whatever the updater.
 */
class NonPrivateEquivalenceTest {
  private static final int N = 16;

  static Stream<Arguments> updaters() {
    return Stream.of(Arguments.of("sgd", new Sgd(0.1)), Arguments.of("nesterov momentum", new Nesterovs(0.05, 0.9)),
        Arguments.of("adam", new Adam(0.01)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("updaters")
  void matchesDl4jFitStepForStep(String name, IUpdater updater) {
    MultiLayerNetwork template = TestNets.cnn(8, 8, 1, 3, ConvolutionMode.Truncate, 1, 1, 1, PoolingType.MAX, 31);
    MultiLayerNetwork dp = withUpdater(template, updater);
    MultiLayerNetwork plain = dp.clone();
    INDArray x = TestNets.gaussian(N, 64, 32);
    int[] labels = TestNets.labels(N, 3, 33);
    Dataset data = TestNets.dataset(x, labels, 3);
    INDArray y = TestNets.oneHot(labels, 3);
    DpSgdTrainer trainer = DpSgd.builder().clipNorm(1e9).noiseMultiplier(0).samplingRate(1.0)
        .noise(new SeededGaussianNoise(1)).accountant(new GaussianRdpTestAccountant()).build(dp);
    Random rng = new Random(3);
    for (int step = 0; step < 5; step++) {
      INDArray before = dp.params().dup();
      TrainingReport r = trainer.train(data, 1, rng);
      assertThat(r.clipping().clipped()).isZero();
      plain.fit(x, y);
      assertThat(dp.params().equalsWithEps(before, 1e-12)).as("step %d moved the parameters", step).isFalse();
      assertThat(TestNets.relativeError(dp.params(), plain.params())).as("%s step %d", name, step).isLessThan(1e-10);
    }
    assertThat(dp.getIterationCount()).isEqualTo(plain.getIterationCount());
  }

  private static MultiLayerNetwork withUpdater(MultiLayerNetwork template, IUpdater updater) {
    org.deeplearning4j.nn.conf.MultiLayerConfiguration conf = template.getLayerWiseConfigurations().clone();
    for (org.deeplearning4j.nn.conf.NeuralNetConfiguration c : conf.getConfs()) {
      if (c.getLayer() instanceof org.deeplearning4j.nn.conf.layers.BaseLayer b) {
        b.setIUpdater(updater.clone());
      }
    }
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init(template.params().dup(), true);
    return net;
  }
}

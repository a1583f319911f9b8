package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import org.cloister.data.BuiltinDatasets;
import org.cloister.data.Dataset;
import org.cloister.data.Standardizer;
import org.cloister.data.TrainTestSplit;
import org.cloister.models.EvaluationMetrics;
import org.cloister.models.Evaluator;
import org.cloister.models.ModelZoo;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

class DpSgdTrainerTest {

  @Test
  void trainsTheBreastCancerMlpPrivatelyToUsefulAccuracy() {
    TrainTestSplit split = TrainTestSplit.stratified(BuiltinDatasets.wdbc(), 0.25, 1);
    Standardizer st = Standardizer.fit(split.train());
    Dataset train = st.apply(split.train());
    Dataset test = st.apply(split.test());
    MultiLayerNetwork net = ModelZoo.newNetwork(ModelZoo.mlp(), 30, 2, 7, new Adam(0.01), DataType.FLOAT);
    GaussianRdpTestAccountant acc = new GaussianRdpTestAccountant();
    DpSgdTrainer trainer = DpSgd.builder().clipNorm(1.0).noiseMultiplier(1.0).samplingRate(0.1)
        .noise(new SeededGaussianNoise(11)).accountant(acc).budget(new PrivacyBudget(190, 1e-5)).build(net);
    TrainingReport r = trainer.train(train, 150, new Random(12));

    EvaluationMetrics m = Evaluator.evaluate(net, test);
    assertThat(m.accuracy()).isGreaterThan(0.9);
    assertThat(r.stepsTaken()).isEqualTo(150);
    assertThat(r.stoppedByGuard()).isFalse();
    assertThat(acc.events()).isEqualTo(150);
    assertThat(r.epsilonSpent()).isPositive().isLessThan(190);
    assertThat(r.delta()).isEqualTo(1e-5);
    assertThat(r.clipping().examples()).isEqualTo(Arrays.stream(r.batchSizes()).sum());
    assertThat(r.clipping().fractionClipped()).isBetween(0.0, 1.0);
    assertThat(r.clipping().meanNorm()).isPositive();
    double meanBatch = Arrays.stream(r.batchSizes()).average().orElseThrow();
    assertThat(meanBatch).isCloseTo(0.1 * train.size(), org.assertj.core.data.Offset.offset(3.0));
  }

  @Test
  void batchesAreThePoissonSamplesOfTheInjectedRandomness() {
    Dataset data = TestNets.dataset(TestNets.gaussian(30, 4, 1), TestNets.labels(30, 2, 2), 2);
    DpSgdTrainer trainer = DpSgd.builder().clipNorm(1).noiseMultiplier(1).samplingRate(0.2)
        .noise(new SeededGaussianNoise(1)).accountant(new GaussianRdpTestAccountant())
        .build(TestNets.single(4, 2, LossFunction.MCXENT, Activation.SOFTMAX, 1));
    TrainingReport r = trainer.train(data, 40, new Random(77));
    Random replay = new Random(77);
    for (int t = 0; t < 40; t++) {
      assertThat(r.batchSizes()[t]).isEqualTo(PoissonSampler.sample(30, 0.2, replay).length);
    }
  }

  @Test
  void emptyBatchesAreNoisedStepsToo() {
    Dataset data = TestNets.dataset(TestNets.gaussian(10, 4, 1), TestNets.labels(10, 2, 2), 2);
    MultiLayerNetwork net = TestNets.single(4, 2, LossFunction.MCXENT, Activation.SOFTMAX, 1);
    GaussianRdpTestAccountant acc = new GaussianRdpTestAccountant();
    DpSgdTrainer trainer = DpSgd.builder().clipNorm(1).noiseMultiplier(1).samplingRate(0.001)
        .noise(new SeededGaussianNoise(1)).accountant(acc).build(net);
    INDArray before = net.params().dup();
    TrainingReport r = trainer.train(data, 5, new Random(3));
    assertThat(r.batchSizes()).containsOnly(0);
    assertThat(r.clipping().examples()).isZero();
    assertThat(acc.events()).isEqualTo(5);
    assertThat(net.params().equalsWithEps(before, 1e-9)).isFalse();
    assertThat(r.epsilonSpent()).isNaN(); // no budget set: no delta to report epsilon at
  }

  @Test
  void badConfigurationAndDataAreRefusedClearly() {
    MultiLayerNetwork net = TestNets.single(4, 2, LossFunction.MCXENT, Activation.SOFTMAX, 1);
    DpSgd.Builder ok = DpSgd.builder().clipNorm(1).noiseMultiplier(1).samplingRate(0.1)
        .noise(new SeededGaussianNoise(1)).accountant(new GaussianRdpTestAccountant());
    assertThatThrownBy(() -> DpSgd.builder().clipNorm(1).noiseMultiplier(1).samplingRate(0.1)
        .accountant(new GaussianRdpTestAccountant()).build(net)).hasMessageContaining("noise source");
    assertThatThrownBy(() -> ok.samplingRate(1.5).build(net)).hasMessageContaining("sampling rate q must be in (0, 1]");
    ok.samplingRate(0.1);
    assertThatThrownBy(() -> ok.clipNorm(-1).build(net)).hasMessageContaining("clip norm C must be positive");
    ok.clipNorm(1);
    assertThatThrownBy(() -> ok.perLayerClipNorms(1, 2).build(net)).hasMessageContaining("needs 1 thresholds");
    ok.perLayerClipNorms((double[]) null);
    DpSgdTrainer trainer = ok.build(net);
    Dataset threeClasses = TestNets.dataset(TestNets.gaussian(6, 4, 1), new int[] {0, 1, 2, 0, 1, 2}, 3);
    assertThatThrownBy(() -> trainer.train(threeClasses, 1, new Random(1)))
        .hasMessageContaining("3 classes").hasMessageContaining("2 outputs");
    Dataset fiveFeatures = TestNets.dataset(TestNets.gaussian(6, 5, 1), new int[] {0, 1, 0, 1, 0, 1}, 2);
    assertThatThrownBy(() -> trainer.train(fiveFeatures, 1, new Random(1)))
        .hasMessageContaining("5 features").hasMessageContaining("expects 4 inputs");
    assertThatThrownBy(() -> new PrivacyBudget(0, 1e-5)).hasMessageContaining("epsilon must be positive");
    assertThatThrownBy(() -> new PrivacyBudget(1, 1)).hasMessageContaining("delta must be in (0, 1)");
  }

  @Test
  void perLayerClippingSplitsTheSensitivity() {
    MultiLayerNetwork net = TestNets.mlp(5, 3, 1);
    DpSgdTrainer t = DpSgd.builder().clipNorm(2).perLayerClipping().noiseMultiplier(1).samplingRate(0.1)
        .noise(new SeededGaussianNoise(1)).accountant(new GaussianRdpTestAccountant()).build(net);
    assertThat(t.settings().perLayerClipNorms()).hasSize(3).containsOnly(2 / Math.sqrt(3));
    assertThat(t.settings().clipNorm()).isCloseTo(2, org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  void documentedSmallSiteSettingsStillLearn() {
    // docs/dp-sgd.md: a site with ~140 examples, q = 0.15, sigma = 3, C = 1 can take ~116 steps at
    // epsilon 3, delta 1e-5 (RDP of the Poisson-subsampled Gaussian); the model must still learn
    TrainTestSplit split = TrainTestSplit.stratified(BuiltinDatasets.wdbc(), 0.25, 3);
    Standardizer st = Standardizer.fit(split.train());
    Dataset all = st.apply(split.train());
    int[] rows = new int[140];
    Arrays.setAll(rows, i -> i * 3); // one site's share of the training set
    Dataset site = all.subset(rows);
    MultiLayerNetwork net = ModelZoo.newNetwork(ModelZoo.logisticRegression(), 30, 2, 5,
        new org.nd4j.linalg.learning.config.Sgd(0.5), DataType.FLOAT);
    DpSgdTrainer trainer = DpSgd.builder().clipNorm(1.0).noiseMultiplier(3.0).samplingRate(0.15)
        .noise(new SeededGaussianNoise(21)).accountant(new GaussianRdpTestAccountant()).build(net);
    trainer.train(site, 116, new Random(22));
    assertThat(Evaluator.evaluate(net, st.apply(split.test())).accuracy()).isGreaterThan(0.9);
  }

  /**
   * A study with a noise multiplier and no ceiling (a simulation's --noise-multiplier alone) trains:
   * its guard is enforced at DpSgd.MAX_GRID_EPSILON (it used to refuse every round, the grid
   * release's reserved delta being computed at epsilon Double.MAX_VALUE).
   */
  @Test
  void noCeilingIsEnforcedAtTheGridReleasesLimitInsteadOfRefusingEveryStep() {
    Dataset data = TestNets.dataset(TestNets.gaussian(30, 4, 1), TestNets.labels(30, 2, 2), 2);
    DpSgdTrainer trainer = DpSgd.builder().clipNorm(1).noiseMultiplier(1).samplingRate(0.2)
        .noise(new SeededGaussianNoise(1)).accountant(new org.cloister.dp.accounting.rdp.RdpAccountant())
        .budget(new PrivacyBudget(Double.MAX_VALUE, 1e-5))
        .build(TestNets.single(4, 2, LossFunction.MCXENT, Activation.SOFTMAX, 1));
    TrainingReport r = trainer.train(data, 10, new Random(5));
    assertThat(r.stepsTaken()).isEqualTo(10);
    assertThat(r.epsilonSpent()).isPositive().isLessThanOrEqualTo(DpSgd.MAX_GRID_EPSILON);
  }
}

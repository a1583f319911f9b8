package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import org.cloister.data.Dataset;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A record whose per-example gradient is NaN or infinite is dropped from its step's batch,
 * locally (counted), and the round goes on with finite parameters: it never fails the round
 * (which the coordinator would see). On the old trainer the round threw.
 */
class NonFiniteGradientTest {

  private static Dataset poisoned(int n) {
    INDArray x = TestNets.gaussian(n, 4, 3);
    x.putScalar(0, 2, 1e300); // overflows the per-example gradient norm (infinite)
    for (int j = 0; j < 4; j++) {
      x.putScalar(1, j, j % 2 == 0 ? Double.MAX_VALUE : -Double.MAX_VALUE); // inf - inf: NaN logits
    }
    return TestNets.dataset(x, TestNets.labels(n, 2, 4), 2);
  }

  @ParameterizedTest
  @EnumSource(PerExampleMethod.class)
  void aRecordWithANonFiniteGradientIsDroppedAndTheRoundGoesOn(PerExampleMethod method) {
    MultiLayerNetwork net = TestNets.single(4, 2, LossFunction.MCXENT, Activation.SOFTMAX, 5);
    GaussianRdpTestAccountant acc = new GaussianRdpTestAccountant();
    DpSgdTrainer t = DpSgd.builder().clipNorm(1.0).noiseMultiplier(1.0).samplingRate(1.0).method(method)
        .noise(SecureGaussianNoise.seeded(1)).accountant(acc).build(net);
    TrainingReport r = t.train(poisoned(12), 5, new Random(2));

    assertThat(r.stepsTaken()).isEqualTo(5);
    assertThat(acc.events()).isEqualTo(5);
    assertThat(t.droppedNonFinite()).isEqualTo(10); // q = 1: both records are in every batch
    assertThat(Arrays.stream(net.params().toDoubleVector()).allMatch(Double::isFinite)).isTrue();
    assertThat(r.clipping().examples()).isEqualTo(5 * 10); // the dropped records is not counted
  }

  @Test
  void cleanDataDropsNothing() {
    MultiLayerNetwork net = TestNets.single(4, 2, LossFunction.MCXENT, Activation.SOFTMAX, 5);
    DpSgdTrainer t = DpSgd.builder().clipNorm(1.0).noiseMultiplier(1.0).samplingRate(0.5)
        .noise(SecureGaussianNoise.seeded(1)).accountant(new GaussianRdpTestAccountant()).build(net);
    t.train(TestNets.dataset(TestNets.gaussian(12, 4, 3), TestNets.labels(12, 2, 4), 2), 5, new Random(2));
    assertThat(t.droppedNonFinite()).isZero();
  }
}

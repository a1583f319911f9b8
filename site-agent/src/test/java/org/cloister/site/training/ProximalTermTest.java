package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.cloister.data.Dataset;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/** FedProx's proximal term in DP-SGD: exactly mu * (w - w_round) added to the noised gradient. */
class ProximalTermTest {
  private static final double LR = 0.1; // TestNets' Sgd(0.1)

  private static INDArray trainSteps(double mu, int steps, Dataset data) {
    MultiLayerNetwork net = TestNets.mlp(4, 2, 5);
    DpSgd.builder().clipNorm(1).noiseMultiplier(0.7).samplingRate(0.5).proximalMu(mu)
        .noise(new SeededGaussianNoise(3)).accountant(new GaussianRdpTestAccountant()).build(net)
        .train(data, steps, new Random(9));
    return net.params().dup();
  }

  @Test
  void secondStepDiffersByExactlyTheProximalGradient() {
    Dataset data = TestNets.dataset(TestNets.gaussian(40, 4, 2), TestNets.labels(40, 2, 4), 2);
    INDArray w0 = TestNets.mlp(4, 2, 5).params().dup();
    INDArray w1 = trainSteps(0, 1, data);
    INDArray plain = trainSteps(0, 2, data);
    INDArray prox = trainSteps(0.5, 2, data);
    // step 1 starts at the anchor (no pull); step 2 adds mu (w1 - w0), taken by SGD with rate LR
    INDArray expected = plain.sub(w1.sub(w0).muli(LR * 0.5));
    assertThat(w1.sub(w0).norm2Number().doubleValue()).isPositive();
    assertThat(prox.sub(expected).norm2Number().doubleValue()).isLessThan(1e-12);
    assertThat(trainSteps(0.5, 1, data).sub(w1).norm2Number().doubleValue()).isLessThan(1e-12);
  }

  @Test
  void aLargeMuKeepsTheLocalModelNearTheGlobalOne() {
    Dataset data = TestNets.dataset(TestNets.gaussian(40, 4, 2), TestNets.labels(40, 2, 4), 2);
    INDArray w0 = TestNets.mlp(4, 2, 5).params().dup();
    double free = trainSteps(0, 30, data).sub(w0).norm2Number().doubleValue();
    double held = trainSteps(5, 30, data).sub(w0).norm2Number().doubleValue();
    assertThat(held).isLessThan(0.5 * free);
  }

  @Test
  void negativeMuIsRefused() {
    assertThatThrownBy(() -> DpSgd.builder().proximalMu(-1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("proximal mu");
  }
}

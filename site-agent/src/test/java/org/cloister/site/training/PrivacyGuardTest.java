package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.cloister.data.Dataset;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.PoissonSampledEvent;
import org.cloister.dp.events.SelfComposedEvent;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/** The guard stops exactly at the step that would exceed the site's budget. */
class PrivacyGuardTest {
  private static final double SIGMA = 14;
  private static final PrivacyBudget BUDGET = new PrivacyBudget(2.0, 1e-5);

  /** Largest k with eps(k Gaussian(sigma) releases) <= budget, by a plain scan of the closed form. */
  private static int expectedSteps() {
    int k = 0;
    while (GaussianRdpTestAccountant.epsilonFor((k + 1) / (2 * SIGMA * SIGMA), BUDGET.delta()) <= BUDGET.epsilon()) {
      k++;
    }
    return k;
  }

  private static DpSgdTrainer trainer(GaussianRdpTestAccountant acc, MultiLayerNetwork net) {
    return DpSgd.builder().clipNorm(1).noiseMultiplier(SIGMA).samplingRate(0.3)
        .noise(new SeededGaussianNoise(4)).accountant(acc).budget(BUDGET).build(net);
  }

  private static Dataset data() {
    return TestNets.dataset(TestNets.gaussian(20, 4, 1), TestNets.labels(20, 2, 2), 2);
  }

  @Test
  void stopsExactlyAtTheStepThatWouldExceedTheBudget() {
    int k = expectedSteps();
    // analytic cross-check: rho + 2 sqrt(rho L) = eps  =>  sqrt(rho) = sqrt(L + eps) - sqrt(L)
    double l = Math.log(1 / BUDGET.delta());
    double rhoMax = Math.pow(Math.sqrt(l + BUDGET.epsilon()) - Math.sqrt(l), 2);
    assertThat(k).isEqualTo((int) Math.floor(rhoMax * 2 * SIGMA * SIGMA));
    assertThat(k).isBetween(10, 100);

    GaussianRdpTestAccountant acc = new GaussianRdpTestAccountant();
    DpSgdTrainer trainer = trainer(acc, TestNets.single(4, 2, LossFunction.MCXENT, Activation.SOFTMAX, 3));
    TrainingReport r = trainer.train(data(), k + 25, new Random(5));
    assertThat(r.stepsTaken()).isEqualTo(k);
    assertThat(r.stoppedByGuard()).isTrue();
    assertThat(r.stopReason()).hasValueSatisfying(m -> assertThat(m)
        .contains("privacy budget reached").contains("step " + (k + 1)).contains("stopped after " + k));
    assertThat(acc.events()).isEqualTo(k);
    assertThat(r.epsilonSpent()).isLessThanOrEqualTo(BUDGET.epsilon());
    assertThat(GaussianRdpTestAccountant.epsilonFor((k + 1) / (2 * SIGMA * SIGMA), BUDGET.delta()))
        .isGreaterThan(BUDGET.epsilon());
    assertThat(r.batchSizes()).hasSize(k);
    assertThat(r.roundEvent()).isEqualTo(new SelfComposedEvent(
        new PoissonSampledEvent(0.3, new GaussianEvent(SIGMA)), k));

    // the spent budget persists in the accountant: the next round cannot take any step
    TrainingReport next = trainer.train(data(), 5, new Random(6));
    assertThat(next.stepsTaken()).isZero();
    assertThat(next.stoppedByGuard()).isTrue();
    assertThat(acc.events()).isEqualTo(k);
  }

  @Test
  void budgetIsSharedAcrossRounds() {
    int k = expectedSteps();
    GaussianRdpTestAccountant acc = new GaussianRdpTestAccountant();
    DpSgdTrainer trainer = trainer(acc, TestNets.single(4, 2, LossFunction.MCXENT, Activation.SOFTMAX, 3));
    TrainingReport first = trainer.train(data(), k - 3, new Random(1));
    assertThat(first.stoppedByGuard()).isFalse();
    assertThat(first.stopReason()).isEmpty();
    assertThat(trainer.affordableSteps(100)).isEqualTo(3);
    TrainingReport second = trainer.train(data(), 10, new Random(2));
    assertThat(second.stepsTaken()).isEqualTo(3);
    assertThat(acc.events()).isEqualTo(k);
  }

  @Test
  void affordableEqualsCheckingBeforeEveryStep() {
    GaussianEvent event = new GaussianEvent(SIGMA);
    for (int already = 0; already < 40; already += 7) {
      GaussianRdpTestAccountant acc = new GaussianRdpTestAccountant();
      acc.compose(event, already);
      PrivacyGuard guard = new PrivacyGuard(BUDGET, acc);
      // linear reference: step by step on a copy
      GaussianRdpTestAccountant walk = (GaussianRdpTestAccountant) acc.copy();
      int linear = 0;
      while (linear < 200) {
        GaussianRdpTestAccountant probe = (GaussianRdpTestAccountant) walk.copy();
        probe.compose(event);
        if (probe.epsilon(BUDGET.delta()) > BUDGET.epsilon()) {
          break;
        }
        walk.compose(event);
        linear++;
      }
      for (int requested : new int[] {0, 1, 2, 5, 17, 64, 200}) {
        assertThat(guard.affordable(event, requested)).as("already %d, requested %d", already, requested)
            .isEqualTo(Math.min(requested, linear));
      }
    }
  }
}

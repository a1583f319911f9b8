package org.cloister.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.junit.jupiter.api.Test;

class RocTest {
  @Test
  void aurocCountsPairsAndTies() {
    double[] s = {3, 2, 2, 1};
    boolean[] in = {true, true, false, false};
    // pairs (in > out): 3>2, 3>1, 2>1 = 3, tie 2=2 = 0.5: 3.5 / 4
    assertThat(Roc.auroc(s, in)).isEqualTo(0.875);
  }

  @Test
  void gaussianShiftMatchesTheory() {
    // scores N(mu, 1) vs N(0, 1): AUROC = Phi(mu / sqrt 2), TPR at FPR f = 1 - Phi(z_{1-f} - mu)
    SplittableRandom rnd = new SplittableRandom(7);
    int n = 200_000;
    double mu = 2;
    double[] s = new double[n];
    boolean[] in = new boolean[n];
    for (int i = 0; i < n; i++) {
      in[i] = rnd.nextBoolean();
      s[i] = gauss(rnd) + (in[i] ? mu : 0);
    }
    NormalDistribution z = new NormalDistribution(null, 0, 1);
    assertThat(Roc.auroc(s, in)).isCloseTo(z.cumulativeProbability(mu / Math.sqrt(2)), within(0.005));
    assertThat(Roc.tprAtFpr(s, in, 1e-2)).isCloseTo(1 - z.cumulativeProbability(z.inverseCumulativeProbability(0.99) - mu), within(0.01));
    assertThat(Roc.tprAtFpr(s, in, 1e-3)).isCloseTo(1 - z.cumulativeProbability(z.inverseCumulativeProbability(0.999) - mu), within(0.015));
  }

  private static double gauss(SplittableRandom r) {
    double u = r.nextDouble();
    double v = r.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
  }
}

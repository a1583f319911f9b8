package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;
import org.cloister.data.Dataset;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The noise the trainer adds: isolated by running the same step (same parameters, same Poisson
 * sample) with sigma and with sigma = 0, SGD with learning rate 1, so the parameter difference is
 * exactly noise / (q n).
 */
class NoiseTest {
  private static final double CLIP = 0.7;
  private static final double SIGMA = 1.3;
  private static final double Q = 0.5;
  private static final int N = 20;
  private static final int STEPS = 3;

  @Test
  void noiseIsGaussianWithStdSigmaCOverExpectedBatchAndIndependent() {
    MultiLayerNetwork noisyNet = TestNets.init(TestNets.base(5, new Sgd(1.0)).list()
        .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(LossFunction.MCXENT)
            .nIn(1000).nOut(10).activation(Activation.SOFTMAX).build())
        .build());
    MultiLayerNetwork cleanNet = noisyNet.clone();
    INDArray initial = noisyNet.params().dup();
    int[] labels = TestNets.labels(N, 10, 6);
    Dataset data = TestNets.dataset(TestNets.gaussian(N, 1000, 7), labels, 10);
    GaussianRdpTestAccountant acc = new GaussianRdpTestAccountant();
    DpSgdTrainer noisy = DpSgd.builder().clipNorm(CLIP).noiseMultiplier(SIGMA).samplingRate(Q)
        .noise(new SeededGaussianNoise(99)).accountant(acc).build(noisyNet);
    DpSgdTrainer clean = DpSgd.builder().clipNorm(CLIP).noiseMultiplier(0).samplingRate(Q)
        .noise(new SeededGaussianNoise(1)).accountant(new GaussianRdpTestAccountant()).build(cleanNet);

    int p = (int) noisyNet.numParams();
    double[][] z = new double[STEPS][];
    boolean batchDiffersFromExpected = false;
    for (int s = 0; s < STEPS; s++) {
      noisyNet.setParams(initial.dup());
      cleanNet.setParams(initial.dup());
      TrainingReport r = noisy.train(data, 1, new Random(1000 + s));
      clean.train(data, 1, new Random(1000 + s));
      batchDiffersFromExpected |= r.batchSizes()[0] != (int) (Q * N);
      // clean - noisy = lr * noise / (q n)
      INDArray diff = cleanNet.params().sub(noisyNet.params()).muli(Q * N / (SIGMA * CLIP));
      z[s] = diff.toDoubleVector();
    }
    assertThat(batchDiffersFromExpected).as("some batch size differs from q n, so the scale test has teeth").isTrue();
    assertThat(acc.events()).isEqualTo(STEPS);

    KolmogorovSmirnovTest ks = new KolmogorovSmirnovTest();
    NormalDistribution standard = new NormalDistribution(null, 0, 1);
    double[] all = new double[STEPS * p];
    for (int s = 0; s < STEPS; s++) {
      System.arraycopy(z[s], 0, all, s * p, p);
      assertThat(ks.kolmogorovSmirnovTest(standard, z[s])).as("KS p-value, step %d", s).isGreaterThan(1e-3);
    }
    assertThat(ks.kolmogorovSmirnovTest(standard, all)).isGreaterThan(1e-3);
    // the test can tell a 10% error in the scale apart
    double[] wrongScale = all.clone();
    for (int i = 0; i < wrongScale.length; i++) {
      wrongScale[i] *= 1.1;
    }
    assertThat(ks.kolmogorovSmirnovTest(standard, wrongScale)).isLessThan(1e-6);
    double mean = java.util.Arrays.stream(all).average().orElseThrow();
    assertThat(Math.abs(mean)).isLessThan(4 / Math.sqrt(all.length));

    double bound = 4 / Math.sqrt(p);
    for (int s = 0; s < STEPS; s++) {
      // neighbouring coordinates uncorrelated
      assertThat(Math.abs(correlation(z[s], 0, z[s], 1, p - 1))).isLessThan(bound);
    }
    for (int s = 1; s < STEPS; s++) {
      // successive steps uncorrelated
      assertThat(Math.abs(correlation(z[s - 1], 0, z[s], 0, p))).isLessThan(bound);
    }
  }

  private static double correlation(double[] a, int offA, double[] b, int offB, int len) {
    double ma = 0;
    double mb = 0;
    for (int i = 0; i < len; i++) {
      ma += a[offA + i];
      mb += b[offB + i];
    }
    ma /= len;
    mb /= len;
    double sab = 0;
    double saa = 0;
    double sbb = 0;
    for (int i = 0; i < len; i++) {
      double x = a[offA + i] - ma;
      double y = b[offB + i] - mb;
      sab += x * y;
      saa += x * x;
      sbb += y * y;
    }
    return sab / Math.sqrt(saa * sbb);
  }
}

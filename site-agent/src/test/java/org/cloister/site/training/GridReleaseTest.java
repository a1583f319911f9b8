package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.cloister.data.Dataset;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * White box: what one DP-SGD step releases (the noised clipped sum, before the post-processing
 * scaling by 1/(qn)). It must lie on the grid gamma*Z and depend on the clipped sum only through
 * round(sum / gamma), for DOUBLE and FLOAT networks. On the old trainer (noise snapped alone, then
 * added to the sum in float/double arithmetic) the DOUBLE release keeps the sum's bits below the
 * grid and these tests fail.
 */
class GridReleaseTest {
  private static final double SIGMA = 1.1;
  private static final double CLIP = 0.8;
  private static final double Q = 0.4;
  private static final int N = 30;
  private static final int STEPS = 4;

  private record Step(double[] sum, double[] released) {
  }

  private static MultiLayerNetwork net(DataType type) {
    MultiLayerConfiguration conf = TestNets.base(3, new Sgd(0.2)).dataType(type).list()
        .layer(new DenseLayer.Builder().nIn(6).nOut(5).activation(Activation.TANH).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(5).nOut(3).activation(Activation.SOFTMAX).build())
        .build();
    return TestNets.init(conf);
  }

  private static Dataset data(long seed, int n) {
    return TestNets.dataset(TestNets.gaussian(n, 6, seed), TestNets.labels(n, 3, seed + 1), 3);
  }

  private static List<Step> run(DataType type, Dataset data, long noiseSeed, double[] gammaOut) {
    DpSgdTrainer t = DpSgd.builder().clipNorm(CLIP).noiseMultiplier(SIGMA).samplingRate(Q)
        .noise(SecureGaussianNoise.seeded(noiseSeed)).accountant(new GaussianRdpTestAccountant()).build(net(type));
    List<Step> steps = new ArrayList<>();
    t.observeReleases((sum, released) -> steps.add(new Step(sum, released)));
    gammaOut[0] = t.gridMechanism().orElseThrow().gamma();
    t.train(data, STEPS, new Random(5));
    assertThat(steps).hasSize(STEPS);
    return steps;
  }

  /** The noise integers k = released/gamma - round(sum/gamma) (exact for DOUBLE). */
  private static long[][] noiseIntegers(List<Step> steps, double gamma) {
    long[][] k = new long[steps.size()][];
    for (int s = 0; s < steps.size(); s++) {
      Step st = steps.get(s);
      k[s] = new long[st.released().length];
      for (int i = 0; i < k[s].length; i++) {
        double m = st.released()[i] / gamma;
        assertThat(m).as("step %d coordinate %d: released/gamma is an integer", s, i).isEqualTo(Math.rint(m));
        k[s][i] = (long) m - (long) Math.rint(st.sum()[i] / gamma);
      }
    }
    return k;
  }

  @Test
  void doubleNetworkReleasesLieOnTheGrid() {
    double[] gamma = new double[1];
    List<Step> steps = run(DataType.DOUBLE, data(7, N), 42, gamma);
    noiseIntegers(steps, gamma[0]);
    // the sums themselves are not on the grid: the test has teeth
    boolean offGrid = false;
    for (Step st : steps) {
      for (double v : st.sum()) {
        offGrid |= v / gamma[0] != Math.rint(v / gamma[0]);
      }
    }
    assertThat(offGrid).isTrue();
  }

  @Test
  void forAFixedNoiseDrawTheOutputGridIsTheSameWhateverTheInput() {
    // neighbouring datasets (one record more), same noise seed: the noise integers are the same,
    // so each output is gamma * (round(sum/gamma) + k): the set of possible outputs is gamma*Z
    double[] gamma = new double[1];
    Dataset d = data(7, N);
    Dataset neighbour = data(7, N + 1);
    long[][] k1 = noiseIntegers(run(DataType.DOUBLE, d, 42, gamma), gamma[0]);
    long[][] k2 = noiseIntegers(run(DataType.DOUBLE, neighbour, 42, gamma), gamma[0]);
    assertThat(k2).isDeepEqualTo(k1);
  }

  @Test
  void floatNetworkReleasesTheFloatOfTheSameGridValue() {
    // a FLOAT network with the same sizes and noise seed draws the same noise integers; its
    // release must be (float) (gamma * (round(sum/gamma) + k)): a function of grid integers only
    double[] gamma = new double[1];
    Dataset d = data(11, N);
    long[][] k = noiseIntegers(run(DataType.DOUBLE, d, 99, gamma), gamma[0]);
    List<Step> steps = run(DataType.FLOAT, d, 99, gamma);
    for (int s = 0; s < STEPS; s++) {
      Step st = steps.get(s);
      for (int i = 0; i < st.released().length; i++) {
        long m = (long) Math.rint(st.sum()[i] / gamma[0]) + k[s][i];
        assertThat((float) st.released()[i]).as("step %d coordinate %d", s, i).isEqualTo((float) (gamma[0] * m));
        assertThat(st.released()[i] / gamma[0]).isEqualTo(Math.rint(st.released()[i] / gamma[0]));
      }
    }
  }
}

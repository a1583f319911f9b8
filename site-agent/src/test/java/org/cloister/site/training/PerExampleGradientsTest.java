package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer.PoolingType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The vectorized clipped sum equals a naive reference running DL4J's own backpropagation one
 * example at a time, for every supported layer type, with examples both below and above C.
 */
class PerExampleGradientsTest {
  private static final int BATCH = 12;

  record Case(String name, MultiLayerNetwork net, INDArray x, INDArray y) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        tabular("dense+activation+softmax/mcxent", TestNets.mlp(5, 3, 1), 5, 3),
        tabular("output sigmoid/xent", TestNets.single(5, 2, LossFunction.XENT, Activation.SIGMOID, 2), 5, 2),
        tabular("output identity/mse", TestNets.single(4, 3, LossFunction.MSE, Activation.IDENTITY, 3), 4, 3),
        tabular("no bias dense/output", TestNets.noBias(6, 3, 4), 6, 3),
        Arguments.of(new Case("embedding", TestNets.embedding(9, 3, 5), TestNets.indices(BATCH, 9, 50),
            TestNets.oneHot(TestNets.labels(BATCH, 3, 51), 3))),
        image("conv truncate pad1 + maxpool", 9, 9, 2,
            TestNets.cnn(9, 9, 2, 3, ConvolutionMode.Truncate, 1, 1, 1, PoolingType.MAX, 6)),
        image("conv same stride2 + avgpool", 11, 10, 1,
            TestNets.cnn(11, 10, 1, 3, ConvolutionMode.Same, 2, 0, 1, PoolingType.AVG, 7)),
        image("conv dilation2 + maxpool", 12, 12, 2,
            TestNets.cnn(12, 12, 2, 3, ConvolutionMode.Truncate, 1, 0, 2, PoolingType.MAX, 8)));
  }

  private static Arguments tabular(String name, MultiLayerNetwork net, int nIn, int classes) {
    return Arguments.of(new Case(name, net, TestNets.gaussian(BATCH, nIn, 100 + nIn).muli(2),
        TestNets.oneHot(TestNets.labels(BATCH, classes, 200 + nIn), classes)));
  }

  private static Arguments image(String name, int h, int w, int c, MultiLayerNetwork net) {
    return Arguments.of(new Case(name, net, TestNets.gaussian(BATCH, h * w * c, 300 + h),
        TestNets.oneHot(TestNets.labels(BATCH, 3, 400 + h), 3)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void vectorizedClippedSumMatchesPerExampleDl4jBackprop(Case c) {
    double[] norms = new double[BATCH];
    TestNets.naiveClippedSum(c.net(), c.x(), c.y(), Double.MAX_VALUE, norms);
    double[] sorted = norms.clone();
    Arrays.sort(sorted);
    double clip = (sorted[BATCH / 2 - 1] + sorted[BATCH / 2]) / 2; // half the examples above C, half below
    assertThat(sorted[0]).isLessThan(clip);
    assertThat(sorted[BATCH - 1]).isGreaterThan(clip);

    INDArray expected = TestNets.naiveClippedSum(c.net(), c.x(), c.y(), clip, null);
    NetworkLayout layout = new NetworkLayout(c.net());
    ClippedBatch batch = new VectorizedGradients(c.net(), layout).clippedSum(c.x(), c.y(), ClipPolicy.flat(clip));

    assertThat(TestNets.relativeError(layout.flatGradient(), expected)).as(c.name()).isLessThan(1e-5);
    for (int i = 0; i < BATCH; i++) {
      assertThat(batch.norms()[i]).isCloseTo(norms[i], org.assertj.core.data.Percentage.withPercentage(1e-4));
    }
    long above = Arrays.stream(norms).filter(n -> n > clip).count();
    assertThat(batch.clipped()).isEqualTo((int) above);

    // the naive method of the trainer (DL4J per example) agrees too
    ClippedBatch naive = new NaiveGradients(c.net(), layout).clippedSum(c.x(), c.y(), ClipPolicy.flat(clip));
    assertThat(TestNets.relativeError(layout.flatGradient(), expected)).isLessThan(1e-5);
    assertThat(naive.clipped()).isEqualTo(batch.clipped());
  }

  @org.junit.jupiter.api.Test
  void perLayerClippingMatchesPerLayerReference() {
    MultiLayerNetwork net = TestNets.cnn(9, 9, 2, 3, ConvolutionMode.Truncate, 1, 1, 1, PoolingType.MAX, 11);
    INDArray x = TestNets.gaussian(BATCH, 9 * 9 * 2, 12);
    INDArray y = TestNets.oneHot(TestNets.labels(BATCH, 3, 13), 3);
    // layers with parameters: conv(0), conv(2), dense(3), output(4)
    int[] withParams = {0, 2, 3, 4};
    long[] offsets = new long[net.getnLayers() + 1];
    for (int i = 0; i < net.getnLayers(); i++) {
      offsets[i + 1] = offsets[i] + net.getLayer(i).numParams();
    }
    INDArray[] grads = new INDArray[BATCH];
    double[][] layerNorms = new double[withParams.length][BATCH];
    org.nd4j.linalg.indexing.INDArrayIndex[][] segs = new org.nd4j.linalg.indexing.INDArrayIndex[withParams.length][];
    for (int l = 0; l < withParams.length; l++) {
      segs[l] = new org.nd4j.linalg.indexing.INDArrayIndex[] {org.nd4j.linalg.indexing.NDArrayIndex.point(0),
          org.nd4j.linalg.indexing.NDArrayIndex.interval(offsets[withParams[l]], offsets[withParams[l] + 1])};
    }
    for (int b = 0; b < BATCH; b++) {
      net.setInput(x.getRow(b, true).dup());
      net.setLabels(y.getRow(b, true).dup());
      net.computeGradientAndScore();
      grads[b] = net.gradient().gradient().dup().reshape(1, net.numParams());
      for (int l = 0; l < withParams.length; l++) {
        layerNorms[l][b] = grads[b].get(segs[l]).norm2Number().doubleValue();
      }
    }
    double[] thresholds = new double[withParams.length];
    for (int l = 0; l < withParams.length; l++) {
      double[] sorted = layerNorms[l].clone();
      Arrays.sort(sorted);
      thresholds[l] = (sorted[BATCH / 2 - 1] + sorted[BATCH / 2]) / 2 * (1 + 0.3 * (l - 1.5)); // differ per layer
    }
    INDArray expected = org.nd4j.linalg.factory.Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.DOUBLE, 1, net.numParams());
    int clippedLayers = 0;
    int unclippedLayers = 0;
    for (int b = 0; b < BATCH; b++) {
      for (int l = 0; l < withParams.length; l++) {
        double norm = layerNorms[l][b];
        if (norm > thresholds[l]) {
          clippedLayers++;
        } else {
          unclippedLayers++;
        }
        expected.get(segs[l]).addi(grads[b].get(segs[l]).mul(Math.min(1.0, thresholds[l] / norm)));
      }
    }
    assertThat(clippedLayers).isPositive();
    assertThat(unclippedLayers).isPositive();
    NetworkLayout layout = new NetworkLayout(net);
    new VectorizedGradients(net, layout).clippedSum(x, y, new ClipPolicy(true, thresholds));
    assertThat(TestNets.relativeError(layout.flatGradient(), expected)).isLessThan(1e-5);
    new NaiveGradients(net, layout).clippedSum(x, y, new ClipPolicy(true, thresholds));
    assertThat(TestNets.relativeError(layout.flatGradient(), expected)).isLessThan(1e-5);
  }

  @org.junit.jupiter.api.Test
  void unclippedSumEqualsDl4jBatchGradient() {
    MultiLayerNetwork net = TestNets.mlp(5, 3, 21);
    INDArray x = TestNets.gaussian(BATCH, 5, 22);
    INDArray y = TestNets.oneHot(TestNets.labels(BATCH, 3, 23), 3);
    NetworkLayout layout = new NetworkLayout(net);
    ClippedBatch batch = new VectorizedGradients(net, layout).clippedSum(x, y, ClipPolicy.flat(1e12));
    assertThat(batch.clipped()).isZero();
    INDArray sum = layout.flatGradient().dup();
    net.setInput(x);
    net.setLabels(y);
    net.computeGradientAndScore();
    INDArray dl4j = net.gradient().gradient().dup();
    // DL4J's backpropagation leaves the per-batch SUM of per-example gradients in the gradient
    // array (its updater divides by the batch size afterwards), so the unclipped sum equals it
    assertThat(TestNets.relativeError(sum, dl4j)).isLessThan(1e-10);
    assertThat(TestNets.relativeError(sum, dl4j.mul(BATCH))).isGreaterThan(0.5);
  }

  @org.junit.jupiter.api.Test
  void floatCnnWithDl4jNativeHelpersAgreesToo() {
    // FLOAT networks run DL4J's native (oneDNN) pooling inside the vectorized pass and in the reference
    MultiLayerNetwork net = new MultiLayerNetwork(org.cloister.models.ModelZoo.cnn()
        .configuration(784, 4, 3, new org.nd4j.linalg.learning.config.Sgd(0.1), org.nd4j.linalg.api.buffer.DataType.FLOAT));
    net.init();
    INDArray x = TestNets.gaussian(6, 784, 41).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
    INDArray y = TestNets.oneHot(TestNets.labels(6, 4, 42), 4).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
    NetworkLayout layout = new NetworkLayout(net);
    ClippedBatch naive = new NaiveGradients(net, layout).clippedSum(x, y, ClipPolicy.flat(1e9));
    double[] sorted = naive.norms().clone();
    Arrays.sort(sorted);
    double clip = (sorted[2] + sorted[3]) / 2;
    new NaiveGradients(net, layout).clippedSum(x, y, ClipPolicy.flat(clip));
    INDArray expected = layout.flatGradient().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE);
    ClippedBatch vec = new VectorizedGradients(net, layout).clippedSum(x, y, ClipPolicy.flat(clip));
    assertThat(vec.clipped()).isEqualTo(3);
    assertThat(TestNets.relativeError(layout.flatGradient().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE), expected))
        .isLessThan(1e-4);
  }
}

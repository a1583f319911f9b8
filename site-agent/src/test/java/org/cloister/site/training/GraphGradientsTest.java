package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.cloister.data.Dataset;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
import org.deeplearning4j.nn.conf.graph.StackVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.ElementWiseMultiplicationLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * DP-SGD on a DL4J {@link ComputationGraph}: the batched per-example clipped sum through the
 * graph (layer vertices by the same rules as a MultiLayerNetwork, routing vertices by DL4J) equals
 * DL4J's own backpropagation run one example at a time, clipped over the whole parameter vector and
 * summed; a vertex without a per-example rule is refused by name.
 */
class GraphGradientsTest {
  private static final int BATCH = 12;

  record Case(String name, ComputationGraph graph, int nIn, int classes) {
    @Override
    public String toString() {
      return name;
    }
  }

  static ComputationGraph init(ComputationGraphConfiguration conf) {
    ComputationGraph g = new ComputationGraph(conf);
    g.init();
    return g;
  }

  /** A skip connection: out(merge(input, d1 + d2)), d2 = relu(dense(d1)), d1 = tanh(dense(input)). */
  static ComputationGraph skip(int nIn, int classes, long seed) {
    return init(TestNets.base(seed, new Sgd(0.1)).graphBuilder()
        .addInputs("in")
        .addLayer("d1", new DenseLayer.Builder().nIn(nIn).nOut(4).activation(Activation.TANH).build(), "in")
        .addLayer("d2", new DenseLayer.Builder().nIn(4).nOut(4).activation(Activation.RELU).build(), "d1")
        .addVertex("add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "d1", "d2")
        .addVertex("merge", new MergeVertex(), "in", "add")
        .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nIn(nIn + 4).nOut(classes)
            .activation(Activation.SOFTMAX).build(), "merge")
        .setOutputs("out")
        .build());
  }

  /**
   * Two inputs in one: the features split by SubsetVertex into two branches (one through a
   * parameter-free activation layer), multiplied, merged, scaled, and a dense layer before the output.
   */
  static ComputationGraph twoBranch(int nIn, int classes, long seed) {
    int half = nIn / 2;
    return init(TestNets.base(seed, new Sgd(0.1)).graphBuilder()
        .addInputs("in")
        .addVertex("left", new SubsetVertex(0, half - 1), "in")
        .addVertex("right", new SubsetVertex(half, nIn - 1), "in")
        .addLayer("a", new DenseLayer.Builder().nIn(half).nOut(5).activation(Activation.TANH).build(), "left")
        .addLayer("b", new DenseLayer.Builder().nIn(nIn - half).nOut(5).activation(Activation.IDENTITY).build(), "right")
        .addLayer("bAct", new ActivationLayer.Builder().activation(Activation.SIGMOID).build(), "b")
        .addVertex("prod", new ElementWiseVertex(ElementWiseVertex.Op.Product), "a", "bAct")
        .addVertex("cat", new MergeVertex(), "prod", "a")
        .addVertex("scaled", new ScaleVertex(0.5), "cat")
        .addLayer("h", new DenseLayer.Builder().nIn(10).nOut(6).activation(Activation.RELU).build(), "scaled")
        .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nIn(6).nOut(classes)
            .activation(Activation.SOFTMAX).build(), "h")
        .setOutputs("out")
        .build());
  }

  static Stream<Arguments> cases() {
    return Stream.of(Arguments.of(new Case("skip connection (merge + element-wise add)", skip(5, 3, 1), 5, 3)),
        Arguments.of(new Case("two branches (subset, product, merge, scale, activation layer)", twoBranch(6, 3, 2), 6, 3)));
  }

  private static INDArray naiveClippedSum(ComputationGraph g, INDArray x, INDArray y, double clip, double[] normsOut) {
    return TestNets.naiveClippedSum(g, x, y, clip, normsOut);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void clippedSumThroughTheGraphMatchesPerExampleDl4jBackprop(Case c) {
    INDArray x = TestNets.gaussian(BATCH, c.nIn(), 100 + c.nIn()).muli(2);
    INDArray y = TestNets.oneHot(TestNets.labels(BATCH, c.classes(), 200 + c.nIn()), c.classes());
    double[] norms = new double[BATCH];
    naiveClippedSum(c.graph(), x, y, Double.MAX_VALUE, norms);
    double[] sorted = norms.clone();
    Arrays.sort(sorted);
    double clip = (sorted[BATCH / 2 - 1] + sorted[BATCH / 2]) / 2; // half the examples above C, half below
    assertThat(sorted[0]).isLessThan(clip);
    assertThat(sorted[BATCH - 1]).isGreaterThan(clip);
    INDArray expected = naiveClippedSum(c.graph(), x, y, clip, null);

    GraphModel model = new GraphModel(c.graph());
    ClippedBatch batch = model.vectorized(GradientRules.builtInOnly()).clippedSum(x, y, ClipPolicy.flat(clip));

    assertThat(TestNets.relativeError(model.flatGradient(), expected)).as(c.name()).isLessThan(1e-6);
    for (int i = 0; i < BATCH; i++) {
      assertThat(batch.norms()[i]).as("example " + i).isCloseTo(norms[i], org.assertj.core.data.Offset.offset(1e-6 * norms[i]));
    }
    assertThat(batch.clipped()).isEqualTo((int) Arrays.stream(norms).filter(n -> n > clip).count());

    // the trainer's naive method on a graph (DL4J per example) agrees too
    model.flatGradient().assign(0);
    new NaiveGradients(model).clippedSum(x, y, ClipPolicy.flat(clip));
    assertThat(TestNets.relativeError(model.flatGradient(), expected)).isLessThan(1e-6);
  }

  @Test
  void perVertexClippingBoundsEachLayerVertex() {
    ComputationGraph g = twoBranch(6, 3, 3);
    INDArray x = TestNets.gaussian(BATCH, 6, 7).muli(3);
    INDArray y = TestNets.oneHot(TestNets.labels(BATCH, 3, 8), 3);
    GraphModel model = new GraphModel(g);
    double[] thresholds = {0.05, 0.05, 0.05, 0.05};
    model.vectorized(GradientRules.builtInOnly()).clippedSum(x, y, new ClipPolicy(true, thresholds));
    INDArray vectorized = model.flatGradient().dup();
    new NaiveGradients(model).clippedSum(x, y, new ClipPolicy(true, thresholds));
    assertThat(TestNets.relativeError(vectorized, model.flatGradient())).isLessThan(1e-6);
    assertThat(model.parametrizedSegments().length).isEqualTo(4); // a, b, h, out: one threshold per layer vertex with parameters
  }

  @Test
  void oneNoiselessStepIsTheUpdatersStepOnTheClippedMean() {
    ComputationGraph g = skip(5, 3, 4);
    Dataset data = TestNets.dataset(TestNets.gaussian(BATCH, 5, 9), TestNets.labels(BATCH, 3, 10), 3);
    INDArray x = Nd4j.createFromArray(data.features());
    INDArray y = TestNets.oneHot(data.labels(), 3);
    INDArray before = g.params().dup();
    INDArray clippedSum = naiveClippedSum(g, x, y, 0.5, null);
    g.setParams(before.dup());
    DpSgdTrainer trainer = DpSgd.builder().clipNorm(0.5).noiseMultiplier(0).samplingRate(1)
        .noise(new SeededGaussianNoise(1)).accountant(new GaussianRdpTestAccountant()).build((org.deeplearning4j.nn.api.Model) g);
    TrainingReport r = trainer.train(data, 1, new Random(1));
    assertThat(r.stepsTaken()).isEqualTo(1);
    // SGD(0.1) on the clipped sum divided by the expected batch size q*n = 12
    INDArray expected = before.sub(clippedSum.reshape(before.shape()).mul(0.1 / BATCH));
    assertThat(TestNets.relativeError(g.params(), expected)).isLessThan(1e-9);
  }

  @Test
  void aGraphStepComposesTheSameEventAsALayeredStep() {
    DpSgdTrainer graph = DpSgd.builder().clipNorm(1).noiseMultiplier(1.1).samplingRate(0.25)
        .noise(new SeededGaussianNoise(1)).accountant(new GaussianRdpTestAccountant()).build(skip(5, 3, 5));
    DpSgdTrainer layered = DpSgd.builder().clipNorm(1).noiseMultiplier(1.1).samplingRate(0.25)
        .noise(new SeededGaussianNoise(1)).accountant(new GaussianRdpTestAccountant()).build(TestNets.mlp(5, 3, 5));
    assertThat(graph.stepEvent()).isEqualTo(layered.stepEvent());
  }

  @Test
  void aVertexWithoutAPerExampleRuleIsRefusedByName() {
    ComputationGraph stacked = init(TestNets.base(1, new Sgd(0.1)).graphBuilder()
        .addInputs("in")
        .addLayer("d1", new DenseLayer.Builder().nIn(4).nOut(3).build(), "in")
        .addLayer("d2", new DenseLayer.Builder().nIn(4).nOut(3).build(), "in")
        .addVertex("stack", new StackVertex(), "d1", "d2")
        .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nIn(3).nOut(2).activation(Activation.SOFTMAX).build(),
            "stack")
        .setOutputs("out").build());
    assertThatThrownBy(() -> builder().build(stacked)).isInstanceOf(UnsupportedLayerException.class)
        .hasMessageContaining("vertex 'stack' (StackVertex)");

    ComputationGraph normalized = init(TestNets.base(1, new Sgd(0.1)).graphBuilder()
        .addInputs("in")
        .addLayer("bn", new BatchNormalization.Builder().nIn(4).nOut(4).build(), "in")
        .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(2).activation(Activation.SOFTMAX).build(),
            "bn")
        .setOutputs("out").build());
    assertThatThrownBy(() -> builder().build(normalized)).isInstanceOf(UnsupportedLayerException.class)
        .hasMessageContaining("vertex 'bn' (BatchNormalization)").hasMessageContaining("mixes the examples");

    ComputationGraph plugin = init(TestNets.base(1, new Sgd(0.1)).graphBuilder()
        .addInputs("in")
        .addLayer("ew", new ElementWiseMultiplicationLayer.Builder().nIn(4).nOut(4).build(), "in")
        .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(2).activation(Activation.SOFTMAX).build(),
            "ew")
        .setOutputs("out").build());
    assertThatThrownBy(() -> builder().gradientRules(GradientRules.builtInOnly()).build(plugin))
        .isInstanceOf(UnsupportedLayerException.class)
        .hasMessageContaining("vertex 'ew' (ElementWiseMultiplicationLayer) has no per-example gradient rule");
    // with the plug-in rule registered, the same graph trains
    builder().gradientRules(GradientRules.builtInOnly().with(new org.cloister.site.training.plugin.ElementWiseRule()))
        .build(plugin);

    ComputationGraph batchMerge = init(TestNets.base(1, new Sgd(0.1)).graphBuilder()
        .addInputs("in")
        .addLayer("d1", new DenseLayer.Builder().nIn(4).nOut(3).build(), "in")
        .addVertex("rows", rowMerge(), "d1", "d1")
        .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nIn(3).nOut(2).activation(Activation.SOFTMAX).build(),
            "rows")
        .setOutputs("out").build());
    assertThatThrownBy(() -> builder().build(batchMerge)).isInstanceOf(UnsupportedLayerException.class)
        .hasMessageContaining("vertex 'rows' (MergeVertex) merges along the batch axis");

    ComputationGraph twoOutputs = init(TestNets.base(1, new Sgd(0.1)).graphBuilder()
        .addInputs("in")
        .addLayer("o1", new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(2).activation(Activation.SOFTMAX).build(), "in")
        .addLayer("o2", new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(2).activation(Activation.SOFTMAX).build(), "in")
        .setOutputs("o1", "o2").build());
    assertThatThrownBy(() -> builder().build(twoOutputs)).hasMessageContaining("2 outputs");
  }

  private static MergeVertex rowMerge() {
    MergeVertex m = new MergeVertex();
    m.setMergeAxis(0);
    return m;
  }

  private static DpSgd.Builder builder() {
    return DpSgd.builder().clipNorm(1).noiseMultiplier(1).samplingRate(0.1).noise(new SeededGaussianNoise(1))
        .accountant(new GaussianRdpTestAccountant());
  }
}

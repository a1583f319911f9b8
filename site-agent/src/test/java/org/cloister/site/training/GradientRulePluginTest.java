package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.cloister.site.training.plugin.ElementWiseRule;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.ElementWiseMultiplicationLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A per-layer gradient rule added through the public SPI (docs/extending.md): without it the layer
 * is refused by name; with it the vectorized clipped sum equals DL4J's own backpropagation one
 * example at a time, with examples below and above C.
 */
class GradientRulePluginTest {
  private static final int BATCH = 12;

  private static MultiLayerNetwork net() {
    return TestNets.init(TestNets.base(3, new Sgd(0.1)).list()
        .layer(new DenseLayer.Builder().nIn(5).nOut(4).activation(Activation.TANH).build())
        .layer(new ElementWiseMultiplicationLayer.Builder().nIn(4).nOut(4).activation(Activation.SIGMOID).build())
        .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(3).activation(Activation.SOFTMAX).build())
        .build());
  }

  @Test
  void aLayerWithoutARuleIsRefusedByName() {
    assertThatThrownBy(() -> DpCompatibility.check(net(), GradientRules.builtInOnly()))
        .isInstanceOf(UnsupportedLayerException.class)
        .hasMessageContaining("layer 1 (ElementWiseMultiplicationLayer)")
        .hasMessageContaining("GradientRuleFactory");
  }

  @Test
  void aPluginCannotReplaceABuiltInRuleOrRegisterTwice() {
    GradientRules rules = GradientRules.builtInOnly().with(new ElementWiseRule());
    assertThat(rules.layers()).containsExactly("ElementWiseMultiplicationLayer");
    assertThatThrownBy(() -> rules.with(new ElementWiseRule())).hasMessageContaining("two gradient rules");
    assertThatThrownBy(() -> GradientRules.builtInOnly().with(new GradientRuleFactory() {
      @Override
      public Class<? extends org.deeplearning4j.nn.conf.layers.Layer> layerType() {
        return DenseLayer.class;
      }

      @Override
      public LayerRule create(int index, String what, org.deeplearning4j.nn.conf.layers.Layer l, java.util.Map<String, INDArray> p,
                              java.util.Map<String, INDArray> g) {
        throw new AssertionError();
      }
    })).hasMessageContaining("has a built-in gradient rule");
  }

  @Test
  void thePluginsClippedSumMatchesPerExampleDl4jBackprop() {
    MultiLayerNetwork net = net();
    INDArray x = TestNets.gaussian(BATCH, 5, 17).muli(2);
    INDArray y = TestNets.oneHot(TestNets.labels(BATCH, 3, 18), 3);
    double[] norms = new double[BATCH];
    TestNets.naiveClippedSum(net, x, y, Double.MAX_VALUE, norms);
    double[] sorted = norms.clone();
    Arrays.sort(sorted);
    double clip = (sorted[BATCH / 2 - 1] + sorted[BATCH / 2]) / 2;
    INDArray expected = TestNets.naiveClippedSum(net, x, y, clip, null);

    GradientRules rules = GradientRules.builtInOnly().with(new ElementWiseRule());
    NetworkLayout layout = new NetworkLayout(net);
    ClippedBatch batch = new VectorizedGradients(net, layout, rules).clippedSum(x, y, ClipPolicy.flat(clip));
    assertThat(TestNets.relativeError(layout.flatGradient(), expected)).isLessThan(1e-5);
    for (int i = 0; i < BATCH; i++) {
      assertThat(batch.norms()[i]).isCloseTo(norms[i], org.assertj.core.data.Percentage.withPercentage(1e-4));
    }
    assertThat(batch.clipped()).isEqualTo((int) Arrays.stream(norms).filter(n -> n > clip).count());
  }
}

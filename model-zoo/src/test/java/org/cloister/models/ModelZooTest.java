package org.cloister.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

class ModelZooTest {

  @Test
  void parametersRoundTripThroughFlatFloats() {
    MultiLayerNetwork net = ModelZoo.newNetwork(ModelZoo.mlp(8), 30, 2, 1, null, DataType.FLOAT);
    assertThat(net.numParams()).isEqualTo(30 * 8 + 8 + 8 * 2 + 2);
    float[] p = Parameters.get(net);
    p[0] = 42f;
    Parameters.set(net, p);
    assertThat(Parameters.get(net)[0]).isEqualTo(42f);
    assertThatThrownBy(() -> Parameters.set(net, new float[3])).hasMessageContaining("has 266 parameters");
  }

  @Test
  void everyBuiltinBuildsAndUnknownNamesAreRefused() {
    assertThat(ModelZoo.newNetwork(ModelZoo.byName("logreg"), 30, 2, 1, null, DataType.FLOAT).numParams()).isEqualTo(62);
    assertThat(ModelZoo.newNetwork(ModelZoo.byName("cnn"), 784, 10, 1, null, DataType.FLOAT).numParams()).isPositive();
    assertThatThrownBy(() -> ModelZoo.byName("resnet")).hasMessageContaining("unknown model 'resnet'");
  }

  @Test
  void aucMatchesHandComputedCases() {
    // perfect ranking
    assertThat(Evaluator.binaryAuc(new double[] {0.1, 0.2, 0.8, 0.9}, new int[] {0, 0, 1, 1}, 1)).isEqualTo(1.0);
    // one inverted pair out of four -> 0.75
    assertThat(Evaluator.binaryAuc(new double[] {0.1, 0.7, 0.6, 0.9}, new int[] {0, 0, 1, 1}, 1)).isCloseTo(0.75, within(1e-12));
    // ties count one half
    assertThat(Evaluator.binaryAuc(new double[] {0.5, 0.5}, new int[] {0, 1}, 1)).isCloseTo(0.5, within(1e-12));
  }

  @Test
  void aGraphArchitectureBuildsAComputationGraphAndIsRefusedWhereOnlyLayerStacksGo() {
    ModelArchitecture arch = ModelZoo.byName("skipmlp");
    org.deeplearning4j.nn.api.Model model = ModelZoo.newModel(arch, 5, 3, 1, null, DataType.FLOAT);
    assertThat(model).isInstanceOf(org.deeplearning4j.nn.graph.ComputationGraph.class);
    // dense1 5x32+32, dense2 32x32+32, output (5+32)x3+3
    assertThat(model.numParams()).isEqualTo(5 * 32 + 32 + 32 * 32 + 32 + 37 * 3 + 3);
    float[] w = Parameters.get(model);
    w[0] = 0.25f;
    Parameters.set(model, w);
    assertThat(Parameters.get(model)[0]).isEqualTo(0.25f);
    org.cloister.data.Dataset data = new org.cloister.data.Dataset(java.util.List.of("a", "b", "c", "d", "e"), "y",
        java.util.List.of("0", "1", "2"), new double[][] {{1, 2, 3, 4, 5}, {0, 0, 0, 0, 1}}, new int[] {0, 2});
    assertThat(Evaluator.evaluate(model, data).examples()).isEqualTo(2);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ModelZoo.newNetwork(arch, 5, 3, 1, null, DataType.FLOAT))
        .hasMessageContaining("model 'skipmlp' is a ComputationGraph");
  }

  @Test
  void architecturesDeclaredDpCompatibleHaveNoExampleMixingOrRandomizedLayers() {
    for (String name : ModelZoo.names()) {
      ModelArchitecture arch = ModelZoo.byName(name);
      java.util.stream.Stream<org.deeplearning4j.nn.conf.layers.Layer> layers = arch instanceof GraphArchitecture g
          ? g.graphConfiguration(30, 3, 1, null, DataType.FLOAT).getVertices().values().stream()
              .filter(v -> v instanceof org.deeplearning4j.nn.conf.graph.LayerVertex)
              .map(v -> ((org.deeplearning4j.nn.conf.graph.LayerVertex) v).getLayerConf().getLayer())
          : arch.configuration(name.equals("cnn") ? 784 : 30, 3, 1, null, DataType.FLOAT).getConfs().stream()
              .map(c -> c.getLayer());
      boolean clean = layers.noneMatch(l ->
          l instanceof org.deeplearning4j.nn.conf.layers.BatchNormalization || l.getIDropout() != null);
      assertThat(arch.dpCompatible()).as(name).isEqualTo(clean);
    }
  }
}

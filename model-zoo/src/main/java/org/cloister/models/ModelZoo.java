package org.cloister.models;

import java.util.List;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** The built-in architectures. All are DP-compatible (no batch normalization). */
public final class ModelZoo {
  private ModelZoo() {
  }

  /** Multinomial logistic regression: one softmax output layer. */
  public static ModelArchitecture logisticRegression() {
    return new Simple("logreg", (nIn, k, seed, up, dt) -> base(seed, up, dt).list()
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
            .nIn(nIn).nOut(k).activation(Activation.SOFTMAX).weightInit(WeightInit.ZERO).build())
        .build());
  }

  /** Multi-layer perceptron for tabular data: ReLU hidden layers and a softmax output. */
  public static ModelArchitecture mlp(int... hidden) {
    int[] h = hidden.length == 0 ? new int[] {32} : hidden.clone();
    return new Simple("mlp", (nIn, k, seed, up, dt) -> {
      NeuralNetConfiguration.ListBuilder b = base(seed, up, dt).list();
      int in = nIn;
      for (int width : h) {
        b.layer(new DenseLayer.Builder().nIn(in).nOut(width).activation(Activation.RELU).build());
        in = width;
      }
      b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
          .nIn(in).nOut(k).activation(Activation.SOFTMAX).build());
      return b.build();
    });
  }

  /**
   * Small CNN for 28x28 single-channel images (inputs flattened to 784 features): conv 5x5x8,
   * max-pool 2, conv 5x5x16, max-pool 2, dense 64, softmax.
   */
  public static ModelArchitecture cnn() {
    return new Simple("cnn", (nIn, k, seed, up, dt) -> {
      if (nIn != 28 * 28) {
        throw new IllegalArgumentException("cnn expects 784 inputs (28x28 images), got " + nIn);
      }
      return base(seed, up, dt).list()
          .layer(new ConvolutionLayer.Builder(5, 5).nOut(8).stride(1, 1).activation(Activation.RELU).build())
          .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
          .layer(new ConvolutionLayer.Builder(5, 5).nOut(16).stride(1, 1).activation(Activation.RELU).build())
          .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
          .layer(new DenseLayer.Builder().nOut(64).activation(Activation.RELU).build())
          .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(k).activation(Activation.SOFTMAX).build())
          .setInputType(InputType.convolutionalFlat(28, 28, 1))
          .build();
    });
  }

  /** The installed architectures' names (built-ins and plug-ins, {@link ModelArchitectures}). */
  public static List<String> names() {
    return ModelArchitectures.installed().names();
  }

  /** Looks an installed architecture up by its name (built-ins and {@link ArchitectureProvider} plug-ins). */
  public static ModelArchitecture byName(String name) {
    return ModelArchitectures.installed().byName(name);
  }

  /**
   * Residual MLP, a {@code ComputationGraph}: two ReLU dense layers of {@code width} whose outputs
   * are added (a skip connection around the second), then merged with the raw inputs before the
   * softmax output.
   */
  public static GraphArchitecture skipMlp(int width) {
    return new GraphArchitecture() {
      @Override
      public String name() {
        return "skipmlp";
      }

      @Override
      public boolean dpCompatible() {
        return true;
      }

      @Override
      public ComputationGraphConfiguration graphConfiguration(int nIn, int k, long seed, IUpdater updater, DataType dt) {
        return base(seed, updater == null ? new Sgd(0.1) : updater, dt).graphBuilder()
            .addInputs("features")
            .addLayer("dense1", new DenseLayer.Builder().nIn(nIn).nOut(width).activation(Activation.RELU).build(),
                "features")
            .addLayer("dense2", new DenseLayer.Builder().nIn(width).nOut(width).activation(Activation.RELU).build(),
                "dense1")
            .addVertex("residual", new ElementWiseVertex(ElementWiseVertex.Op.Add), "dense1", "dense2")
            .addVertex("merge", new MergeVertex(), "features", "residual")
            .addLayer("output", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(nIn + width).nOut(k)
                .activation(Activation.SOFTMAX).build(), "merge")
            .setOutputs("output")
            .build();
      }

      @Override
      public String toString() {
        return "skipmlp";
      }
    };
  }

  /**
   * Builds and initializes the architecture's network: a {@code MultiLayerNetwork}, or a
   * {@code ComputationGraph} for a {@link GraphArchitecture}, with an SGD updater by default.
   */
  public static Model newModel(ModelArchitecture arch, int numInputs, int numClasses, long seed, IUpdater updater,
                               DataType dataType) {
    if (arch instanceof GraphArchitecture g) {
      ComputationGraph graph = new ComputationGraph(g.graphConfiguration(numInputs, numClasses, seed,
          updater == null ? new Sgd(0.1) : updater, dataType));
      graph.init();
      return graph;
    }
    return newNetwork(arch, numInputs, numClasses, seed, updater, dataType);
  }

  /**
   * Builds and initializes a layer-stack network with an SGD updater (the trainer sets its own
   * updater per round); a {@link GraphArchitecture} is refused (use {@link #newModel}).
   */
  public static MultiLayerNetwork newNetwork(ModelArchitecture arch, int numInputs, int numClasses, long seed,
                                             IUpdater updater, DataType dataType) {
    MultiLayerNetwork net = new MultiLayerNetwork(arch.configuration(numInputs, numClasses, seed,
        updater == null ? new Sgd(0.1) : updater, dataType));
    net.init();
    return net;
  }

  private static NeuralNetConfiguration.Builder base(long seed, IUpdater updater, DataType dt) {
    return new NeuralNetConfiguration.Builder()
        .seed(seed)
        .dataType(dt)
        .updater(updater)
        .weightInit(WeightInit.XAVIER);
  }

  @FunctionalInterface
  private interface ConfFn {
    MultiLayerConfiguration build(int nIn, int k, long seed, IUpdater updater, DataType dt);
  }

  private record Simple(String name, ConfFn fn) implements ModelArchitecture {
    @Override
    public boolean dpCompatible() {
      return true;
    }

    @Override
    public MultiLayerConfiguration configuration(int numInputs, int numClasses, long seed, IUpdater updater, DataType dataType) {
      return fn.build(numInputs, numClasses, seed, updater, dataType);
    }
  }
}

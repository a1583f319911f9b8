package org.cloister.examples.model;

import java.util.List;
import org.cloister.models.ArchitectureProvider;
import org.cloister.models.ModelArchitecture;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Adds the model {@code mlp-64-32}: two ReLU hidden layers (64, 32) and a softmax output. It is
 * DP-compatible: dense layers only (each has a per-example gradient rule), no batch normalization.
 * Registered in {@code META-INF/services/org.cloister.models.ArchitectureProvider}.
 */
public final class DeepMlpProvider implements ArchitectureProvider {
  @Override
  public List<ModelArchitecture> architectures() {
    return List.of(new DeepMlp());
  }

  /** The architecture; a study names it {@code model: mlp-64-32}. */
  static final class DeepMlp implements ModelArchitecture {
    @Override
    public String name() {
      return "mlp-64-32";
    }

    @Override
    public boolean dpCompatible() {
      return true;
    }

    @Override
    public MultiLayerConfiguration configuration(int numInputs, int numClasses, long seed, IUpdater updater,
                                                 DataType dataType) {
      return new NeuralNetConfiguration.Builder().seed(seed).dataType(dataType).updater(updater)
          .weightInit(WeightInit.XAVIER).list()
          .layer(new DenseLayer.Builder().nIn(numInputs).nOut(64).activation(Activation.RELU).build())
          .layer(new DenseLayer.Builder().nIn(64).nOut(32).activation(Activation.RELU).build())
          .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(32).nOut(numClasses)
              .activation(Activation.SOFTMAX).build())
          .build();
    }
  }
}

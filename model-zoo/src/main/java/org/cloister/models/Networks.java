package org.cloister.models;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The few operations the trainers and the evaluator need on either kind of DL4J network, a
 * {@code MultiLayerNetwork} or a single-input, single-output {@code ComputationGraph}.
 */
public final class Networks {
  private Networks() {
  }

  /** Class probabilities for {@code x} (inference mode). */
  public static INDArray output(Model net, INDArray x) {
    if (net instanceof MultiLayerNetwork m) {
      return m.output(x, false);
    }
    return graph(net).outputSingle(false, x);
  }

  /** Sets the learning rate of every layer's updater. */
  public static void setLearningRate(Model net, double lr) {
    if (net instanceof MultiLayerNetwork m) {
      m.setLearningRate(lr);
    } else {
      graph(net).setLearningRate(lr);
    }
  }

  /** One ordinary (non-private) minibatch step. */
  public static void fit(Model net, INDArray x, INDArray y) {
    if (net instanceof MultiLayerNetwork m) {
      m.fit(x, y);
    } else {
      graph(net).fit(new INDArray[] {x}, new INDArray[] {y});
    }
  }

  private static ComputationGraph graph(Model net) {
    if (net instanceof ComputationGraph g) {
      return g;
    }
    throw new IllegalArgumentException("not a MultiLayerNetwork or ComputationGraph: " + net.getClass().getName());
  }
}

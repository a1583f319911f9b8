package org.cloister.models;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * An architecture whose network is a DL4J {@code ComputationGraph} (skip connections, branches,
 * merges) rather than a stack of layers. {@link ModelZoo#newModel} builds it; DP-SGD trains it
 * through the same entry point (docs/extending.md, "Add a model"). The graph has one input (the
 * study's feature vector) and one output layer.
 */
public interface GraphArchitecture extends ModelArchitecture {

  ComputationGraphConfiguration graphConfiguration(int numInputs, int numClasses, long seed, IUpdater updater,
                                                   DataType dataType);

  /** A graph has no layer-stack configuration: refused, naming the model. */
  @Override
  default MultiLayerConfiguration configuration(int numInputs, int numClasses, long seed, IUpdater updater,
                                                DataType dataType) {
    throw new IllegalArgumentException("model '" + name() + "' is a ComputationGraph, not a MultiLayerNetwork: "
        + "this use supports layer-stack models only");
  }
}

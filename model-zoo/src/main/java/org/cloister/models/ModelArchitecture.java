package org.cloister.models;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;

/** A named network architecture that can be instantiated for a given input and class count. */
public interface ModelArchitecture {

  /** Short name used in configs and on the command line (e.g. {@code logreg}). */
  String name();

  /**
   * Whether DP-SGD can train it: no layer mixes examples within a batch (no batch normalization)
   * and every layer has a per-example gradient rule.
   */
  boolean dpCompatible();

  MultiLayerConfiguration configuration(int numInputs, int numClasses, long seed, IUpdater updater, DataType dataType);
}

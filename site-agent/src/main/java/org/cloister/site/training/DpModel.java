package org.cloister.site.training;

import org.cloister.data.Dataset;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the DP-SGD trainer needs of a DL4J network, a {@code MultiLayerNetwork} ({@link LayeredModel})
 * or a {@code ComputationGraph} ({@link GraphModel}): its flat gradient, where each parametrized
 * layer sits in it, the per-example rules, DL4J's own backpropagation (the reference) and its
 * updater's step.
 */
interface DpModel {
  Model network();

  DataType dataType();

  /** The network's flat gradient array: the trainer's clipped (then noised) sum is written here. */
  INDArray flatGradient();

  /**
   * {offset, length} in {@link #flatGradient()} of each layer (vertex) with parameters, in the
   * order of per-layer clipping thresholds.
   */
  long[][] parametrizedSegments();

  /** The batched per-example method (one forward and backward pass through the layer rules). */
  ClippedGradients vectorized(GradientRules rules);

  /** DL4J's own backpropagation of a batch (the reference), written into {@link #flatGradient()}. */
  void dl4jGradient(INDArray features, INDArray labels);

  /** Drops the network's references to the last batch. */
  void clear();

  /** The network's updater takes one step with {@link #flatGradient()} (post-processing of the release). */
  void applyUpdate();

  /** Refuses a dataset whose class or feature count does not fit the network, naming both. */
  void checkShapes(Dataset data);
}

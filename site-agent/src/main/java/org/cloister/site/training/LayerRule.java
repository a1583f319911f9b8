package org.cloister.site.training;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Forward pass, backward pass and per-example gradient rule of one layer of a
 * {@link org.deeplearning4j.nn.multilayer.MultiLayerNetwork}, computed for a whole batch at once.
 * The built-in rules cover dense, output, convolution, embedding and parameter-free layers; a rule
 * for another layer type is added with a {@link GradientRuleFactory} (docs/extending.md).
 *
 * <p>A rule holds the arrays of the current batch between {@link #forward} and
 * {@link #accumulateClipped}; {@link #release()} drops them. Not thread-safe.
 */
public abstract class LayerRule {
  final int index;
  final String description;

  protected LayerRule(int index, String description) {
    this.index = index;
    this.description = description;
  }

  /** Activations of this layer for {@code input}; keeps what the backward pass needs. */
  public abstract INDArray forward(INDArray input);

  /**
   * Propagates {@code epsilon} (dLoss/dOutput, per example, not averaged) back through the layer,
   * keeping the per-example output deltas. Returns dLoss/dInput, or null when not needed.
   */
  public abstract INDArray backward(INDArray epsilon, boolean needInputGradient);

  /** Whether the layer has trainable parameters (and so a per-example gradient). */
  public abstract boolean hasParameters();

  /** Per-example squared L2 norms of this layer's parameter gradient, shape [batch, 1]. */
  public abstract INDArray perExampleSquaredNorms();

  /**
   * Writes sum_i clip_i * g_i of this layer's per-example gradients into the layer's gradient
   * views; {@code clipFactors} has shape [batch, 1].
   */
  public abstract void accumulateClipped(INDArray clipFactors);

  /** Drops references to the current batch. */
  public abstract void release();

  @Override
  public String toString() {
    return "layer " + index + " (" + description + ")";
  }
}

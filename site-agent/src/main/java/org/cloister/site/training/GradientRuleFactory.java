package org.cloister.site.training;

import java.util.Map;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Plug-in point for DP-SGD's per-example gradients (like Opacus's {@code register_grad_sampler}): a
 * rule for one DL4J layer configuration class the built-in rules do not cover (docs/extending.md).
 * Register an implementation (public, no-argument constructor) in
 * {@code META-INF/services/org.cloister.site.training.GradientRuleFactory}, or add it to a
 * {@link GradientRules} given to {@link DpSgd.Builder#gradientRules}.
 *
 * <p>The rule is the privacy-critical part: {@link LayerRule#perExampleSquaredNorms()} must be each
 * example's exact gradient norm, or clipping does not bound the sensitivity. Test it against DL4J's
 * own backpropagation one example at a time (as {@code GradientRulePluginTest} does).
 */
public interface GradientRuleFactory {

  /** The layer configuration class this rule handles (matched exactly, not its subclasses). */
  Class<? extends Layer> layerType();

  /**
   * Refuses, with an {@link UnsupportedLayerException} naming {@code what}, a configuration of the
   * layer the rule cannot handle (a data format, a mode). The trainer has already refused dropout,
   * weight noise, an output layer that is not last and batch-mixing layers.
   */
  default void check(String what, Layer layer) {
  }

  /**
   * The rule for one layer (not the output layer) of a {@code MultiLayerNetwork} or a
   * {@code ComputationGraph}.
   *
   * @param index         the layer's index (a graph: its vertex index)
   * @param what          how messages name it ("layer 2 (...)", "vertex 'name' (...)")
   * @param layer         its configuration (of {@link #layerType()})
   * @param params        the layer's parameter views by name ({@code W}, {@code b}, ...)
   * @param gradientViews the matching views in the network's flat gradient, where
   *                      {@link LayerRule#accumulateClipped} writes
   */
  LayerRule create(int index, String what, Layer layer, Map<String, INDArray> params,
                   Map<String, INDArray> gradientViews);
}

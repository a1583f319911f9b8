package org.cloister.site.training;

import java.util.Map;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
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
   * The rule for layer {@code index} of {@code net} (not the output layer).
   *
   * @param params        the layer's parameter views by name ({@code W}, {@code b}, ...)
   * @param gradientViews the matching views in the network's flat gradient, where
   *                      {@link LayerRule#accumulateClipped} writes
   */
  LayerRule create(int index, String what, MultiLayerNetwork net, Map<String, INDArray> params,
                   Map<String, INDArray> gradientViews);
}

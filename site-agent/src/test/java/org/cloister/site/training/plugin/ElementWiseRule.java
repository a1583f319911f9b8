package org.cloister.site.training.plugin;

import java.util.Map;
import org.cloister.site.training.GradientRuleFactory;
import org.cloister.site.training.LayerRule;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.ElementWiseMultiplicationLayer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A plug-in gradient rule written against the public API only (another package): DL4J's
 * {@code ElementWiseMultiplicationLayer}, z = x ⊙ w + b, out = act(z). Per example i the weight
 * gradient is delta_i ⊙ x_i and the bias gradient delta_i, so the squared norm is
 * sum_j delta_ij^2 (x_ij^2 + 1).
 */
public final class ElementWiseRule implements GradientRuleFactory {
  @Override
  public Class<? extends Layer> layerType() {
    return ElementWiseMultiplicationLayer.class;
  }

  @Override
  public LayerRule create(int index, String what, Layer layer, Map<String, INDArray> params,
                          Map<String, INDArray> gradientViews) {
    IActivation act = ((ElementWiseMultiplicationLayer) layer).getActivationFn();
    INDArray w = params.get("W");
    INDArray b = params.get("b");
    INDArray gw = gradientViews.get("W");
    INDArray gb = gradientViews.get("b");
    return new LayerRule(index, what) {
      private INDArray input;
      private INDArray pre;
      private INDArray delta;

      @Override
      public INDArray forward(INDArray in) {
        input = in.castTo(w.dataType());
        pre = input.mulRowVector(w).addiRowVector(b);
        return act.getActivation(pre.dup(), true);
      }

      @Override
      public INDArray backward(INDArray epsilon, boolean needInputGradient) {
        delta = act.backprop(pre, epsilon).getFirst();
        return needInputGradient ? delta.mulRowVector(w) : null;
      }

      @Override
      public boolean hasParameters() {
        return true;
      }

      @Override
      public INDArray perExampleSquaredNorms() {
        INDArray d2 = delta.mul(delta);
        return d2.mul(input.mul(input).addi(1.0)).sum(true, 1);
      }

      @Override
      public void accumulateClipped(INDArray clipFactors) {
        INDArray scaled = delta.mulColumnVector(clipFactors);
        gw.assign(scaled.mul(input).sum(true, 0).reshape(gw.shape()));
        gb.assign(scaled.sum(true, 0).reshape(gb.shape()));
      }

      @Override
      public void release() {
        input = null;
        pre = null;
        delta = null;
      }
    };
  }
}

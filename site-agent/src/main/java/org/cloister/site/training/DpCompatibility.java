package org.cloister.site.training;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Convolution2D;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Decides whether DP-SGD can train a network, and builds the per-layer gradient rules.
 *
 * <p>Supported: {@code DenseLayer}, {@code OutputLayer} (last, any loss), {@code ConvolutionLayer}
 * / {@code Convolution2D} (NCHW), {@code EmbeddingLayer} (first), {@code SubsamplingLayer}
 * (max/avg), {@code ActivationLayer}, with the feed-forward/CNN preprocessors. Anything that
 * mixes examples (batch normalization), draws per-step randomness inside the model (dropout,
 * weight noise) or has no per-example rule is refused with a message naming the layer.
 */
public final class DpCompatibility {
  static final String SUPPORTED = "supported: DenseLayer, OutputLayer (last layer), ConvolutionLayer/Convolution2D "
      + "(NCHW), EmbeddingLayer (first layer), SubsamplingLayer (max/avg), ActivationLayer";

  /** Layer classes with a built-in rule (a plug-in cannot replace them). */
  static final java.util.Set<Class<?>> BUILT_IN = java.util.Set.of(OutputLayer.class, DenseLayer.class,
      ConvolutionLayer.class, Convolution2D.class, EmbeddingLayer.class, SubsamplingLayer.class, ActivationLayer.class);

  private DpCompatibility() {
  }

  /** Throws {@link UnsupportedLayerException} naming the first layer DP-SGD cannot train with the installed rules. */
  public static void check(MultiLayerNetwork net) {
    check(net, GradientRules.installed());
  }

  /** Throws {@link UnsupportedLayerException} naming the first layer DP-SGD cannot train with {@code plugins}. */
  public static void check(MultiLayerNetwork net, GradientRules plugins) {
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
    int n = conf.getConfs().size();
    if (n == 0) {
      throw new UnsupportedLayerException("the network has no layers");
    }
    if (conf.getBackpropType() != BackpropType.Standard) {
      throw new UnsupportedLayerException("truncated backpropagation through time is not supported by DP-SGD");
    }
    for (int i = 0; i < n; i++) {
      checkLayer(i, n, conf.getConf(i).getLayer(), plugins);
      InputPreProcessor pp = conf.getInputPreProcess(i);
      if (pp != null && !(pp instanceof FeedForwardToCnnPreProcessor) && !(pp instanceof CnnToFeedForwardPreProcessor)) {
        throw new UnsupportedLayerException("layer " + i + ": input preprocessor " + pp.getClass().getSimpleName()
            + " is not supported by DP-SGD (only FeedForwardToCnn and CnnToFeedForward)");
      }
    }
  }

  private static void checkLayer(int i, int n, Layer layer, GradientRules plugins) {
    String what = describe(i, layer);
    if (layer instanceof BatchNormalization) {
      throw new UnsupportedLayerException(what + " mixes the examples of a batch (batch statistics), so per-example "
          + "gradients and DP-SGD's privacy guarantee do not exist for it: remove it (standardize the inputs instead) "
          + "or use a per-example normalization such as layer or group normalization");
    }
    if (layer instanceof LocalResponseNormalization) {
      throw new UnsupportedLayerException(what + " has no per-example gradient rule in DP-SGD; remove it. " + SUPPORTED);
    }
    if (layer.getIDropout() != null) {
      throw new UnsupportedLayerException(what + " uses dropout, which the DP-SGD trainer does not support: remove "
          + "dropout (DP noise and clipping already regularize)");
    }
    if (layer instanceof BaseLayer base && base.getWeightNoise() != null) {
      throw new UnsupportedLayerException(what + " uses weight noise, which the DP-SGD trainer does not support: remove it");
    }
    Class<?> c = layer.getClass();
    boolean last = i == n - 1;
    if (c == OutputLayer.class) {
      if (!last) {
        throw new UnsupportedLayerException(what + " is an output layer but not the last layer");
      }
      checkActivation(what, ((OutputLayer) layer).getActivationFn(), true);
      return;
    }
    if (last) {
      throw new UnsupportedLayerException(what + " is the last layer: DP-SGD needs an OutputLayer (with a loss) last");
    }
    if (c == DenseLayer.class) {
      if (((DenseLayer) layer).hasLayerNorm()) {
        throw new UnsupportedLayerException(what + " uses layer normalization (hasLayerNorm), which has no per-example "
            + "rule in DP-SGD yet: turn it off");
      }
      checkActivation(what, ((DenseLayer) layer).getActivationFn(), true);
    } else if (c == ConvolutionLayer.class || c == Convolution2D.class) {
      ConvolutionLayer cl = (ConvolutionLayer) layer;
      if (cl.getCnn2dDataFormat() != CNN2DFormat.NCHW) {
        throw new UnsupportedLayerException(what + " uses data format " + cl.getCnn2dDataFormat()
            + "; DP-SGD supports NCHW convolutions only");
      }
      if (cl.getConvolutionMode() == ConvolutionMode.Causal) {
        throw new UnsupportedLayerException(what + " uses causal convolution mode; DP-SGD supports Truncate, Strict and Same");
      }
      checkActivation(what, cl.getActivationFn(), false);
    } else if (c == EmbeddingLayer.class) {
      if (i != 0) {
        throw new UnsupportedLayerException(what + " must be the first layer (its input is an index)");
      }
      checkActivation(what, ((EmbeddingLayer) layer).getActivationFn(), true);
    } else if (c == SubsamplingLayer.class) {
      PoolingType p = ((SubsamplingLayer) layer).getPoolingType();
      if (p != PoolingType.MAX && p != PoolingType.AVG) {
        throw new UnsupportedLayerException(what + " uses " + p + " pooling; DP-SGD supports MAX and AVG pooling");
      }
      if (((SubsamplingLayer) layer).getCnn2dDataFormat() != CNN2DFormat.NCHW) {
        throw new UnsupportedLayerException(what + " uses data format NHWC; DP-SGD supports NCHW only");
      }
    } else if (c == ActivationLayer.class) {
      checkActivation(what, ((ActivationLayer) layer).getActivationFn(), true);
    } else if (plugins.forLayer(c) != null) {
      plugins.forLayer(c).check(what, layer);
    } else {
      throw new UnsupportedLayerException(what + " has no per-example gradient rule in the DP-SGD trainer; " + SUPPORTED
          + (plugins.layers().isEmpty() ? "" : "; plug-in rules: " + plugins.layers())
          + " (add one with a GradientRuleFactory, docs/extending.md)");
    }
  }

  private static void checkActivation(String what, IActivation fn, boolean softmaxAllowed) {
    if (fn != null && fn.numParams(1) > 0) {
      throw new UnsupportedLayerException(what + " uses activation " + fn + " with trainable parameters; "
          + "use a parameter-free activation");
    }
    if (!softmaxAllowed && fn instanceof ActivationSoftmax) {
      throw new UnsupportedLayerException(what + " uses softmax activation on a convolution; use an element-wise activation");
    }
  }

  static String describe(int i, Layer layer) {
    String name = layer.getLayerName();
    String cls = layer.getClass().getSimpleName();
    return "layer " + i + " (" + cls + (name != null && !name.equals(String.valueOf(i)) && !name.equals("layer" + i) ? " '" + name + "'" : "") + ")";
  }

  /** Builds the per-layer rules (after {@link #check}). */
  static List<LayerRule> rules(MultiLayerNetwork net, NetworkLayout layout, GradientRules plugins) {
    check(net, plugins);
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
    List<LayerRule> rules = new ArrayList<>();
    for (int i = 0; i < conf.getConfs().size(); i++) {
      Layer layer = conf.getConf(i).getLayer();
      String what = layer.getClass().getSimpleName();
      Map<String, INDArray> params = net.getLayer(i).paramTable();
      Map<String, INDArray> grads = layout.gradientViews(i);
      Class<?> c = layer.getClass();
      if (c == OutputLayer.class) {
        OutputLayer o = (OutputLayer) layer;
        rules.add(new DenseRule(i, what, params, grads, o.getActivationFn(), o.getLossFn()));
      } else if (c == DenseLayer.class) {
        rules.add(new DenseRule(i, what, params, grads, ((DenseLayer) layer).getActivationFn(), null));
      } else if (c == ConvolutionLayer.class || c == Convolution2D.class) {
        ConvolutionLayer cl = (ConvolutionLayer) layer;
        rules.add(new ConvolutionRule(i, what, params, grads, cl.getActivationFn(), cl.getKernelSize(), cl.getStride(),
            cl.getPadding(), cl.getDilation(), cl.getConvolutionMode()));
      } else if (c == EmbeddingLayer.class) {
        rules.add(new EmbeddingRule(i, what, params, grads, ((EmbeddingLayer) layer).getActivationFn()));
      } else if (plugins.forLayer(c) != null) {
        rules.add(plugins.forLayer(c).create(i, describe(i, layer), net, params, grads));
      } else {
        rules.add(new ParameterFreeRule(i, what, net.getLayer(i)));
      }
    }
    return rules;
  }
}

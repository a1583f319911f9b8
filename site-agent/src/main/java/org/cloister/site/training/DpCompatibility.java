package org.cloister.site.training;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
import org.deeplearning4j.nn.conf.graph.ShiftVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
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

  /**
   * Throws {@link UnsupportedLayerException} naming the first layer (or vertex) DP-SGD cannot train
   * with the installed rules: a {@code MultiLayerNetwork} or a {@code ComputationGraph}.
   */
  public static void check(org.deeplearning4j.nn.api.Model net) {
    if (net instanceof MultiLayerNetwork m) {
      check(m);
    } else if (net instanceof ComputationGraph g) {
      check(g);
    } else {
      throw new UnsupportedLayerException("DP-SGD trains a MultiLayerNetwork or a ComputationGraph, not a "
          + net.getClass().getName());
    }
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
      Layer layer = conf.getConf(i).getLayer();
      checkLayer(describe(i, layer), i == 0, i == n - 1, layer, plugins);
      checkPreprocessor("layer " + i, conf.getInputPreProcess(i));
    }
  }

  /** Vertex classes of a graph that only route activations (and gradients) of each example. */
  static final java.util.Set<Class<?>> ROUTING_VERTICES = java.util.Set.of(MergeVertex.class, ElementWiseVertex.class,
      SubsetVertex.class, ScaleVertex.class, ShiftVertex.class, PreprocessorVertex.class);

  static final String SUPPORTED_VERTICES = "supported graph vertices: layer vertices with the layers above, "
      + "MergeVertex, ElementWiseVertex, SubsetVertex, ScaleVertex, ShiftVertex, PreprocessorVertex";

  /** Throws {@link UnsupportedLayerException} naming the first vertex DP-SGD cannot train with the installed rules. */
  public static void check(ComputationGraph graph) {
    check(graph, GradientRules.installed());
  }

  /**
   * Throws {@link UnsupportedLayerException} naming the first vertex of {@code graph} DP-SGD cannot
   * train with {@code plugins}: one input, one output (an {@code OutputLayer}), every layer vertex
   * as in a {@code MultiLayerNetwork}, and only vertices that route each example's activations
   * without mixing examples ({@link #SUPPORTED_VERTICES}).
   */
  public static void check(ComputationGraph graph, GradientRules plugins) {
    ComputationGraphConfiguration conf = graph.getConfiguration();
    if (conf.getBackpropType() != BackpropType.Standard) {
      throw new UnsupportedLayerException("truncated backpropagation through time is not supported by DP-SGD");
    }
    if (conf.getNetworkInputs().size() != 1) {
      throw new UnsupportedLayerException("the graph has " + conf.getNetworkInputs().size() + " inputs "
          + conf.getNetworkInputs() + "; DP-SGD trains graphs with one input (split the features with SubsetVertex)");
    }
    if (conf.getNetworkOutputs().size() != 1) {
      throw new UnsupportedLayerException("the graph has " + conf.getNetworkOutputs().size() + " outputs "
          + conf.getNetworkOutputs() + "; DP-SGD trains graphs with one output layer");
    }
    String input = conf.getNetworkInputs().get(0);
    String output = conf.getNetworkOutputs().get(0);
    for (String name : conf.getTopologicalOrderStr()) {
      if (name.equals(input)) {
        continue;
      }
      GraphVertex v = conf.getVertices().get(name);
      boolean last = name.equals(output);
      if (v instanceof LayerVertex lv) {
        Layer layer = lv.getLayerConf().getLayer();
        String what = describe(name, layer.getClass());
        List<String> in = conf.getVertexInputs().get(name);
        if (in.size() != 1) {
          throw new UnsupportedLayerException(what + " has " + in.size() + " inputs; merge them with a MergeVertex first");
        }
        checkLayer(what, in.size() == 1 && in.get(0).equals(input) && lv.getPreProcessor() == null, last, layer,
            plugins);
        checkPreprocessor(what, lv.getPreProcessor());
      } else {
        String what = describe(name, v.getClass());
        if (!ROUTING_VERTICES.contains(v.getClass())) {
          throw new UnsupportedLayerException(what + " has no per-example rule in the DP-SGD trainer (it may mix the "
              + "examples of a batch, or hold parameters); " + SUPPORTED_VERTICES);
        }
        if (last) {
          throw new UnsupportedLayerException(what + " is the graph's output: DP-SGD needs an OutputLayer (with a loss) "
              + "there");
        }
        if (v instanceof MergeVertex mv && mv.getMergeAxis() == 0) {
          throw new UnsupportedLayerException(what + " merges along the batch axis (0), which mixes examples; "
              + "DP-SGD supports merging features (axis 1)");
        }
        if (v instanceof PreprocessorVertex pv) {
          checkPreprocessor(what, pv.getPreProcessor());
        }
      }
    }
  }

  private static void checkPreprocessor(String what, InputPreProcessor pp) {
    if (pp != null && !(pp instanceof FeedForwardToCnnPreProcessor) && !(pp instanceof CnnToFeedForwardPreProcessor)) {
      throw new UnsupportedLayerException(what + ": input preprocessor " + pp.getClass().getSimpleName()
          + " is not supported by DP-SGD (only FeedForwardToCnn and CnnToFeedForward)");
    }
  }

  static String describe(String vertex, Class<?> type) {
    return "vertex '" + vertex + "' (" + type.getSimpleName() + ")";
  }

  /**
   * Checks one layer configuration.
   *
   * @param what  how messages name it ("layer 2 (DenseLayer)", "vertex 'd1' (DenseLayer)")
   * @param first whether its input is the network's input (an embedding needs that)
   * @param last  whether it is the network's output
   */
  static void checkLayer(String what, boolean first, boolean last, Layer layer, GradientRules plugins) {
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
      if (!first) {
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
      rules.add(rule(i, describe(i, layer), layer, net.getLayer(i), layout.gradientViews(i), plugins));
    }
    return rules;
  }

  /**
   * The rule of one layer (checked before).
   *
   * @param runtime the network's layer (its parameter views, and the forward/backward pass of a
   *                parameter-free layer)
   * @param grads   its views in the network's flat gradient
   */
  static LayerRule rule(int index, String what, Layer layer, org.deeplearning4j.nn.api.Layer runtime,
                        Map<String, INDArray> grads, GradientRules plugins) {
    String cls = layer.getClass().getSimpleName();
    Map<String, INDArray> params = runtime.paramTable();
    Class<?> c = layer.getClass();
    if (c == OutputLayer.class) {
      OutputLayer o = (OutputLayer) layer;
      return new DenseRule(index, cls, params, grads, o.getActivationFn(), o.getLossFn());
    } else if (c == DenseLayer.class) {
      return new DenseRule(index, cls, params, grads, ((DenseLayer) layer).getActivationFn(), null);
    } else if (c == ConvolutionLayer.class || c == Convolution2D.class) {
      ConvolutionLayer cl = (ConvolutionLayer) layer;
      return new ConvolutionRule(index, cls, params, grads, cl.getActivationFn(), cl.getKernelSize(), cl.getStride(),
          cl.getPadding(), cl.getDilation(), cl.getConvolutionMode());
    } else if (c == EmbeddingLayer.class) {
      return new EmbeddingRule(index, cls, params, grads, ((EmbeddingLayer) layer).getActivationFn());
    } else if (plugins.forLayer(c) != null) {
      return plugins.forLayer(c).create(index, what, layer, params, grads);
    }
    return new ParameterFreeRule(index, cls, runtime);
  }
}

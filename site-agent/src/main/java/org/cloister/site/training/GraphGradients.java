package org.cloister.site.training;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.VertexIndices;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Per-example clipping for a {@link ComputationGraph} in one batched forward and backward pass:
 * layer vertices go through the same {@link LayerRule}s as a {@code MultiLayerNetwork}'s layers
 * (per-example norms from their inputs and output deltas); routing vertices (merge, element-wise,
 * subset, scale, shift, preprocessor) run DL4J's own forward and backward pass, which acts on each
 * example separately. A vertex's output delta is the sum over the vertices that consume it. The
 * clip factors then apply over the whole graph's parameter vector (or per layer vertex).
 */
final class GraphGradients implements ClippedGradients {
  private final GraphModel model;
  private final GraphVertex[] vertices;
  private final int[] order;
  private final int input;
  private final int output;
  /** Layer vertices' rules by vertex index. */
  private final Map<Integer, LayerRule> rules = new HashMap<>();
  /** Layer vertices' input preprocessors by vertex index. */
  private final Map<Integer, InputPreProcessor> preprocessors = new HashMap<>();
  /** Parametrized rules in topological order (the order of the graph's flat parameters). */
  private final List<LayerRule> parametrized = new ArrayList<>();
  /** Whether a vertex or anything upstream of it has parameters (its input delta is needed). */
  private final boolean[] upstreamParams;
  private final DataType dataType;
  private final LayerWorkspaceMgr workspaces = LayerWorkspaceMgr.noWorkspaces();

  GraphGradients(GraphModel model, GradientRules plugins) {
    ComputationGraph graph = model.network();
    DpCompatibility.check(graph, plugins);
    this.model = model;
    this.vertices = graph.getVertices();
    this.order = graph.topologicalSortOrder();
    this.input = graph.getVertex(graph.getConfiguration().getNetworkInputs().get(0)).getVertexIndex();
    this.output = graph.getVertex(graph.getConfiguration().getNetworkOutputs().get(0)).getVertexIndex();
    this.upstreamParams = new boolean[vertices.length];
    for (int idx : order) {
      GraphVertex v = vertices[idx];
      boolean up = v.numParams() > 0;
      for (VertexIndices in : inputs(v)) {
        up |= upstreamParams[in.getVertexIndex()];
      }
      upstreamParams[idx] = up;
      if (v.hasLayer() && !v.isInputVertex()) {
        LayerVertex conf = (LayerVertex) graph.getConfiguration().getVertices().get(v.getVertexName());
        Layer layer = conf.getLayerConf().getLayer();
        LayerRule rule = DpCompatibility.rule(idx, DpCompatibility.describe(v.getVertexName(), layer.getClass()), layer,
            v.getLayer(), model.gradientViews(idx), plugins);
        rules.put(idx, rule);
        if (conf.getPreProcessor() != null) {
          preprocessors.put(idx, conf.getPreProcessor());
        }
        if (rule.hasParameters()) {
          parametrized.add(rule);
        }
      }
    }
    if (parametrized.isEmpty()) {
      throw new UnsupportedLayerException("the graph has no trainable parameters");
    }
    this.dataType = model.dataType();
  }

  private static VertexIndices[] inputs(GraphVertex v) {
    VertexIndices[] in = v.getInputVertices();
    return in == null ? new VertexIndices[0] : in;
  }

  @Override
  public ClippedBatch clippedSum(INDArray features, INDArray labels, ClipPolicy policy) {
    if (policy.perLayer() && policy.thresholds().length != parametrized.size()) {
      throw new IllegalArgumentException("per-layer clipping needs " + parametrized.size()
          + " thresholds (one per layer vertex with parameters), got " + policy.thresholds().length);
    }
    if (features == null || features.size(0) == 0) {
      model.flatGradient().assign(0);
      return new ClippedBatch(new double[0], 0);
    }
    int batch = (int) features.size(0);
    INDArray[] acts = new INDArray[vertices.length];
    INDArray[] eps = new INDArray[vertices.length];
    try {
      // forward, in topological order
      for (int idx : order) {
        GraphVertex v = vertices[idx];
        if (idx == input) {
          acts[idx] = features.castTo(dataType);
          continue;
        }
        VertexIndices[] in = inputs(v);
        LayerRule rule = rules.get(idx);
        if (rule != null) {
          INDArray a = acts[in[0].getVertexIndex()];
          InputPreProcessor pp = preprocessors.get(idx);
          acts[idx] = rule.forward(pp == null ? a : pp.preProcess(a, batch, workspaces));
        } else {
          INDArray[] xs = new INDArray[in.length];
          for (VertexIndices i : in) {
            xs[i.getVertexEdgeNumber()] = acts[i.getVertexIndex()];
          }
          v.setInputs(xs);
          acts[idx] = v.doForward(true, workspaces);
        }
      }
      // backward, in reverse topological order: per-example deltas (not averaged)
      int beforeOutput = inputs(vertices[output])[0].getVertexIndex();
      INDArray outEps = ((DenseRule) rules.get(output)).backwardFromLabels(labels.castTo(dataType),
          upstreamParams[beforeOutput]);
      if (upstreamParams[beforeOutput]) {
        sendBack(eps, beforeOutput, outEps, preprocessors.get(output), batch);
      }
      for (int k = order.length - 1; k >= 0; k--) {
        int idx = order[k];
        if (idx == output || idx == input || !upstreamParams[idx]) {
          continue;
        }
        GraphVertex v = vertices[idx];
        if (eps[idx] == null) {
          throw new UnsupportedLayerException(DpCompatibility.describe(v.getVertexName(), v.getClass())
              + " does not reach the graph's output; DP-SGD cannot train it");
        }
        VertexIndices[] in = inputs(v);
        LayerRule rule = rules.get(idx);
        if (rule != null) {
          int from = in[0].getVertexIndex();
          INDArray back = rule.backward(eps[idx].dup(), upstreamParams[from]);
          if (upstreamParams[from]) {
            sendBack(eps, from, back, preprocessors.get(idx), batch);
          }
        } else {
          INDArray[] xs = new INDArray[in.length];
          for (VertexIndices i : in) {
            xs[i.getVertexEdgeNumber()] = acts[i.getVertexIndex()];
          }
          v.setInputs(xs);
          v.setEpsilon(eps[idx].dup());
          INDArray[] back = v.doBackward(false, workspaces).getSecond();
          for (VertexIndices i : in) {
            if (upstreamParams[i.getVertexIndex()]) {
              sendBack(eps, i.getVertexIndex(), back[i.getVertexEdgeNumber()], null, batch);
            }
          }
        }
      }
      return VectorizedGradients.clipAndSum(parametrized, batch, policy, dataType);
    } finally {
      for (LayerRule r : rules.values()) {
        r.release();
      }
      for (GraphVertex v : vertices) {
        if (!v.hasLayer()) {
          v.clear();
        }
      }
    }
  }

  /** Adds {@code delta} (dLoss/d(output of vertex {@code to})) to what {@code to} receives. */
  private void sendBack(INDArray[] eps, int to, INDArray delta, InputPreProcessor pp, int batch) {
    INDArray d = pp == null ? delta : pp.backprop(delta, batch, workspaces);
    eps[to] = eps[to] == null ? d.dup() : eps[to].add(d);
  }

  int parametrizedLayers() {
    return parametrized.size();
  }
}

package org.cloister.site.training;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.data.Dataset;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A {@link ComputationGraph} for DP-SGD. Its flat parameter (and gradient) vector holds the
 * vertices' parameters in topological order, as DL4J lays them out; this class finds each layer
 * vertex's segment and checks it against the vertex's own parameters.
 */
final class GraphModel implements DpModel {
  private final ComputationGraph graph;
  private final INDArray flatGradient;
  /** By vertex index: the layer vertex's views in the flat gradient (empty without parameters). */
  private final Map<Integer, Map<String, INDArray>> views = new LinkedHashMap<>();
  private final List<long[]> segments = new ArrayList<>();
  private final Gradient dl4jGradient;
  private final LayerWorkspaceMgr workspaces = LayerWorkspaceMgr.noWorkspaces();

  GraphModel(ComputationGraph graph) {
    this.graph = graph;
    if (graph.getGradientsViewArray() == null) {
      graph.initGradientsView();
    }
    // a graph's flat arrays are rank 1; the rank-2 reshape is a view of the same buffer (checked below)
    INDArray flat = graph.getGradientsViewArray();
    this.flatGradient = flat.rank() == 2 ? flat : flat.reshape(1, flat.length());
    if (flatGradient.data() != flat.data()) {
      throw new IllegalStateException("the graph's gradient array cannot be viewed as one row");
    }
    INDArray params = graph.params().reshape(1, graph.params().length());
    GraphVertex[] vertices = graph.getVertices();
    Gradient g = new DefaultGradient(flatGradient);
    long off = 0;
    for (int idx : graph.topologicalSortOrder()) {
      GraphVertex v = vertices[idx];
      long len = v.numParams();
      if (len == 0) {
        views.put(idx, Collections.emptyMap());
        continue;
      }
      if (!v.hasLayer()) {
        throw new UnsupportedLayerException(DpCompatibility.describe(v.getVertexName(), v.getClass())
            + " has parameters but no layer; DP-SGD has no per-example rule for it");
      }
      NeuralNetConfiguration conf = v.getLayer().conf();
      INDArray paramSegment = params.get(NDArrayIndex.interval(0, 0, true), NDArrayIndex.interval(off, off + len));
      if (!paramSegment.equals(v.getLayer().params().reshape(paramSegment.shape()))) {
        throw new IllegalStateException("vertex '" + v.getVertexName() + "': its parameters are not at offset " + off
            + " of the graph's flat parameters (unexpected DL4J layout)");
      }
      INDArray segment = flatGradient.get(NDArrayIndex.interval(0, 0, true), NDArrayIndex.interval(off, off + len));
      Map<String, INDArray> m = new LinkedHashMap<>(conf.getLayer().initializer().getGradientsFromFlattened(conf, segment));
      views.put(idx, m);
      for (Map.Entry<String, INDArray> e : m.entrySet()) {
        g.setGradientFor(v.getVertexName() + "_" + e.getKey(), e.getValue());
      }
      segments.add(new long[] {off, len});
      off += len;
    }
    if (off != flatGradient.length()) {
      throw new IllegalStateException("vertex parameter counts add up to " + off + " but the graph has "
          + flatGradient.length());
    }
    this.dl4jGradient = g;
  }

  /** The views of vertex {@code index} in the flat gradient. */
  Map<String, INDArray> gradientViews(int index) {
    return views.get(index);
  }

  @Override
  public ComputationGraph network() {
    return graph;
  }

  @Override
  public DataType dataType() {
    return graph.params().dataType();
  }

  @Override
  public INDArray flatGradient() {
    return flatGradient;
  }

  @Override
  public long[][] parametrizedSegments() {
    return segments.toArray(long[][]::new);
  }

  @Override
  public ClippedGradients vectorized(GradientRules rules) {
    return new GraphGradients(this, rules);
  }

  @Override
  public void dl4jGradient(INDArray features, INDArray labels) {
    graph.setInputs(features);
    graph.setLabels(labels);
    graph.computeGradientAndScore();
  }

  @Override
  public void clear() {
    graph.clear();
  }

  @Override
  public void applyUpdate() {
    int iteration = graph.getIterationCount();
    int epoch = graph.getEpochCount();
    graph.getUpdater().update(dl4jGradient, iteration, epoch, 1, workspaces);
    INDArray params = graph.params();
    params.subi(flatGradient.reshape(params.shape()));
    graph.getConfiguration().setIterationCount(iteration + 1);
    graph.applyConstraints(iteration + 1, epoch);
  }

  @Override
  public void checkShapes(Dataset data) {
    ComputationGraphConfiguration conf = graph.getConfiguration();
    String output = conf.getNetworkOutputs().get(0);
    LayerVertex out = (LayerVertex) conf.getVertices().get(output);
    LayeredModel.checkClasses(((FeedForwardLayer) out.getLayerConf().getLayer()).getNOut(), data);
    String input = conf.getNetworkInputs().get(0);
    for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
      if (e.getValue().contains(input) && conf.getVertices().get(e.getKey()) instanceof LayerVertex lv
          && lv.getPreProcessor() == null && lv.getLayerConf().getLayer() instanceof FeedForwardLayer ff
          && !(ff instanceof org.deeplearning4j.nn.conf.layers.EmbeddingLayer)) {
        LayeredModel.checkFeatures(ff.getNIn(), data);
      }
    }
  }
}

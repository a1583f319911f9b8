package org.cloister.site.training;

import org.cloister.data.Dataset;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A {@link MultiLayerNetwork} for DP-SGD: layers in a row. */
final class LayeredModel implements DpModel {
  private final MultiLayerNetwork net;
  private final NetworkLayout layout;
  private final Gradient dl4jGradient;
  private final LayerWorkspaceMgr workspaces = LayerWorkspaceMgr.noWorkspaces();

  LayeredModel(MultiLayerNetwork net, NetworkLayout layout) {
    this.net = net;
    this.layout = layout;
    this.dl4jGradient = layout.asDl4jGradient();
  }

  @Override
  public MultiLayerNetwork network() {
    return net;
  }

  @Override
  public DataType dataType() {
    return net.params().dataType();
  }

  @Override
  public INDArray flatGradient() {
    return layout.flatGradient();
  }

  @Override
  public long[][] parametrizedSegments() {
    return java.util.stream.IntStream.range(0, layout.layers()).filter(i -> layout.length(i) > 0)
        .mapToObj(i -> new long[] {layout.offset(i), layout.length(i)}).toArray(long[][]::new);
  }

  @Override
  public ClippedGradients vectorized(GradientRules rules) {
    return new VectorizedGradients(net, layout, rules);
  }

  @Override
  public void dl4jGradient(INDArray features, INDArray labels) {
    net.setInput(features);
    net.setLabels(labels);
    net.computeGradientAndScore();
  }

  @Override
  public void clear() {
    net.clear();
  }

  @Override
  public void applyUpdate() {
    int iteration = net.getIterationCount();
    int epoch = net.getEpochCount();
    net.getUpdater().update(net, dl4jGradient, iteration, epoch, 1, workspaces);
    INDArray params = net.params();
    params.subi(layout.flatGradient().reshape(params.shape()));
    net.getLayerWiseConfigurations().setIterationCount(iteration + 1);
    net.applyConstraints(iteration + 1, epoch);
  }

  @Override
  public void checkShapes(Dataset data) {
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
    Layer out = conf.getConf(conf.getConfs().size() - 1).getLayer();
    checkClasses(((FeedForwardLayer) out).getNOut(), data);
    long expected = -1;
    InputPreProcessor pp = conf.getInputPreProcess(0);
    Layer first = conf.getConf(0).getLayer();
    if (pp instanceof FeedForwardToCnnPreProcessor f) {
      expected = f.getInputHeight() * f.getInputWidth() * f.getNumChannels();
    } else if (pp == null && first instanceof org.deeplearning4j.nn.conf.layers.EmbeddingLayer) {
      expected = 1;
    } else if (pp == null && first instanceof FeedForwardLayer ff) {
      expected = ff.getNIn();
    }
    checkFeatures(expected, data);
  }

  static void checkClasses(long outputs, Dataset data) {
    if (outputs != data.numClasses()) {
      throw new IllegalArgumentException("the dataset has " + data.numClasses() + " classes " + data.classNames()
          + " but the network's output layer has " + outputs + " outputs");
    }
  }

  static void checkFeatures(long expected, Dataset data) {
    if (expected > 0 && expected != data.numFeatures()) {
      throw new IllegalArgumentException("the dataset has " + data.numFeatures() + " features but the network expects "
          + expected + " inputs");
    }
  }
}

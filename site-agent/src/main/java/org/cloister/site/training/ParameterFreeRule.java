package org.cloister.site.training;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Layers without parameters that act on each example separately (pooling, activation): their
 * forward and backward passes are DL4J's own.
 */
final class ParameterFreeRule extends LayerRule {
  private final Layer layer;
  private final LayerWorkspaceMgr workspaces = LayerWorkspaceMgr.noWorkspaces();

  ParameterFreeRule(int index, String description, Layer layer) {
    super(index, description);
    this.layer = layer;
  }

  @Override
  public INDArray forward(INDArray input) {
    layer.setInput(input, workspaces);
    return layer.activate(true, workspaces);
  }

  @Override
  public INDArray backward(INDArray epsilon, boolean needInputGradient) {
    INDArray eps = layer.backpropGradient(epsilon, workspaces).getSecond();
    return needInputGradient ? eps : null;
  }

  @Override
  public boolean hasParameters() {
    return false;
  }

  @Override
  public INDArray perExampleSquaredNorms() {
    throw new UnsupportedOperationException(this + " has no parameters");
  }

  @Override
  public void accumulateClipped(INDArray clipFactors) {
    throw new UnsupportedOperationException(this + " has no parameters");
  }

  @Override
  public void release() {
    layer.clear();
  }
}

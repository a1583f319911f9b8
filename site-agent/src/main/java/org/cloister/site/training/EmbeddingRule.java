package org.cloister.site.training;

import java.util.Map;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.floating.SquaredNorm;
import org.nd4j.linalg.api.ops.impl.scatter.ScatterUpdate;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Embedding layers (input: one integer index per example): example i touches only row idx_i of
 * W, with gradient delta_i, so its squared norm is ||delta_i||^2 (twice that with a bias), and the
 * clipped sum adds c_i delta_i to row idx_i (one scatter-add).
 */
final class EmbeddingRule extends LayerRule {
  private final INDArray weights;
  private final INDArray bias;
  private final INDArray weightGrad;
  private final INDArray biasGrad;
  private final IActivation activation;
  private final long vocabulary;

  private INDArray indices;
  private INDArray preOutput;
  private INDArray delta;

  EmbeddingRule(int index, String description, Map<String, INDArray> params, Map<String, INDArray> gradients,
                IActivation activation) {
    super(index, description);
    this.weights = params.get("W");
    this.bias = params.get("b");
    this.weightGrad = gradients.get("W");
    this.biasGrad = gradients.get("b");
    this.activation = activation;
    this.vocabulary = weights.size(0);
  }

  @Override
  public INDArray forward(INDArray in) {
    if (in.length() != in.size(0)) {
      throw new IllegalArgumentException(this + " expects one index per example, got input of shape "
          + java.util.Arrays.toString(in.shape()));
    }
    long[] idx = in.reshape(in.length()).toLongVector();
    int[] rows = new int[idx.length];
    for (int i = 0; i < idx.length; i++) {
      if (idx[i] < 0 || idx[i] >= vocabulary) {
        throw new IllegalArgumentException(this + ": index " + idx[i] + " of example " + i
            + " is outside [0, " + vocabulary + ")");
      }
      rows[i] = (int) idx[i];
    }
    indices = Nd4j.createFromArray(idx);
    preOutput = Nd4j.pullRows(weights, 1, rows);
    if (bias != null) {
      preOutput.addiRowVector(bias);
    }
    return activation.getActivation(preOutput.dup(), true);
  }

  @Override
  public INDArray backward(INDArray epsilon, boolean needInputGradient) {
    if (needInputGradient) {
      throw new IllegalStateException(this + " has no input gradient (it must be the first layer)");
    }
    delta = activation.backprop(preOutput, epsilon).getFirst();
    preOutput = null;
    return null;
  }

  @Override
  public boolean hasParameters() {
    return true;
  }

  @Override
  public INDArray perExampleSquaredNorms() {
    INDArray d = Nd4j.getExecutioner().exec(new SquaredNorm(delta, true, 1));
    return bias != null ? d.muli(2.0) : d;
  }

  @Override
  public void accumulateClipped(INDArray clipFactors) {
    INDArray scaled = delta.mulColumnVector(clipFactors);
    weightGrad.assign(0);
    Nd4j.scatterUpdate(ScatterUpdate.UpdateOp.ADD, weightGrad, indices.castTo(DataType.INT64), scaled, 1);
    if (biasGrad != null) {
      scaled.sum(biasGrad, 0);
    }
  }

  @Override
  public void release() {
    indices = null;
    preOutput = null;
    delta = null;
  }
}

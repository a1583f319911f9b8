package org.cloister.site.training;

import java.util.Map;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.floating.SquaredNorm;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.ILossFunction;

/**
 * Dense and output layers: z = a W + b. The per-example weight gradient is the outer product
 * a_i^T delta_i, so its squared norm is ||a_i||^2 ||delta_i||^2 (plus ||delta_i||^2 for the bias),
 * and the clipped sum is the single product A^T diag(c) Delta.
 */
final class DenseRule extends LayerRule {
  private final INDArray weights;
  private final INDArray bias;
  private final INDArray weightGrad;
  private final INDArray biasGrad;
  private final IActivation activation;
  private final ILossFunction loss;
  private final DataType dataType;

  private INDArray input;
  private INDArray preOutput;
  private INDArray delta;

  /**
   * @param params the layer's parameter views ("W" [nIn, nOut], optional "b" [1, nOut])
   * @param gradients the matching gradient views in the network's flat gradient
   * @param loss the loss of an output layer, null for a hidden dense layer
   */
  DenseRule(int index, String description, Map<String, INDArray> params, Map<String, INDArray> gradients,
            IActivation activation, ILossFunction loss) {
    super(index, description);
    this.weights = params.get("W");
    this.bias = params.get("b");
    this.weightGrad = gradients.get("W");
    this.biasGrad = gradients.get("b");
    this.activation = activation;
    this.loss = loss;
    this.dataType = weights.dataType();
  }

  boolean isOutput() {
    return loss != null;
  }

  @Override
  public INDArray forward(INDArray in) {
    input = in.rank() == 2 && in.dataType() == dataType ? in : in.castTo(dataType).reshape(in.size(0), -1);
    preOutput = input.mmul(weights);
    if (bias != null) {
      preOutput.addiRowVector(bias);
    }
    if (isOutput()) {
      return null; // the loss function applies the output activation itself
    }
    return activation.getActivation(preOutput.dup(), true);
  }

  /** Output layers: starts the backward pass from the labels. */
  INDArray backwardFromLabels(INDArray labels, boolean needInputGradient) {
    // per-example dLoss/dz (DL4J loss gradients are not averaged over the batch)
    delta = loss.computeGradient(labels, preOutput, activation, null);
    preOutput = null;
    return needInputGradient ? delta.mmul(weights.transpose()) : null;
  }

  @Override
  public INDArray backward(INDArray epsilon, boolean needInputGradient) {
    if (isOutput()) {
      throw new IllegalStateException("output layer starts from labels");
    }
    delta = activation.backprop(preOutput, epsilon).getFirst();
    preOutput = null;
    return needInputGradient ? delta.mmul(weights.transpose()) : null;
  }

  @Override
  public boolean hasParameters() {
    return true;
  }

  @Override
  public INDArray perExampleSquaredNorms() {
    // ||a_i^T d_i||_F^2 = ||a_i||^2 ||d_i||^2, plus ||d_i||^2 for the bias
    INDArray d = Nd4j.getExecutioner().exec(new SquaredNorm(delta, true, 1));
    INDArray a = Nd4j.getExecutioner().exec(new SquaredNorm(input, true, 1));
    if (bias != null) {
      a.addi(1.0);
    }
    return d.muli(a);
  }

  @Override
  public void accumulateClipped(INDArray clipFactors) {
    INDArray scaled = delta.mulColumnVector(clipFactors);
    Nd4j.gemm(input, scaled, weightGrad, true, false, 1.0, 0.0);
    if (biasGrad != null) {
      scaled.sum(biasGrad, 0);
    }
  }

  @Override
  public void release() {
    input = null;
    preOutput = null;
    delta = null;
  }
}

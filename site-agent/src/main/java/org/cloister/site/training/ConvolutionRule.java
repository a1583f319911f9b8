package org.cloister.site.training;

import java.util.Map;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.util.ConvolutionUtils;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.floating.SquaredNorm;
import org.nd4j.linalg.convolution.Convolution;
import org.nd4j.linalg.factory.Nd4j;

/**
 * 2-D convolution (NCHW) through unfolded inputs (im2col): with U_i the [P, K] patch matrix of
 * example i (P output positions, K = inChannels * kH * kW) and D_i its [P, outChannels] deltas, the
 * per-example weight gradient is D_i^T U_i, computed for the whole batch as one batched matrix
 * product; norms and the clipped sum follow from it.
 */
final class ConvolutionRule extends LayerRule {
  private final INDArray weights;
  private final INDArray bias;
  private final INDArray weightGrad;
  private final INDArray biasGrad;
  private final IActivation activation;
  private final int[] kernel;
  private final int[] stride;
  private final int[] padding;
  private final int[] dilation;
  private final ConvolutionMode mode;
  private final DataType dataType;
  private final long outChannels;
  private final long inChannels;
  private final long patch;

  private long batch;
  private int inH;
  private int inW;
  private int outH;
  private int outW;
  private int[] pad;
  private INDArray cols2d;      // [B*P, K]
  private INDArray preOutput2d; // [B*P, outC]
  private INDArray delta2d;     // [B*P, outC]
  private INDArray perExampleWeightGrad; // [B, outC*K]
  private INDArray perExampleBiasGrad;   // [B, outC]

  ConvolutionRule(int index, String description, Map<String, INDArray> params, Map<String, INDArray> gradients,
                  IActivation activation, int[] kernel, int[] stride, int[] padding, int[] dilation,
                  ConvolutionMode mode) {
    super(index, description);
    this.weights = params.get("W");
    this.bias = params.get("b");
    this.weightGrad = gradients.get("W");
    this.biasGrad = gradients.get("b");
    this.activation = activation;
    this.kernel = kernel.clone();
    this.stride = stride.clone();
    this.padding = padding.clone();
    this.dilation = dilation.clone();
    this.mode = mode;
    this.dataType = weights.dataType();
    this.outChannels = weights.size(0);
    this.inChannels = weights.size(1);
    this.patch = inChannels * weights.size(2) * weights.size(3);
  }

  private INDArray weights2d() {
    return weights.reshape('c', outChannels, patch);
  }

  @Override
  public INDArray forward(INDArray in) {
    INDArray x = in.dataType() == dataType ? in : in.castTo(dataType);
    if (x.rank() != 4 || x.size(1) != inChannels) {
      throw new IllegalArgumentException(this + " expects input [batch, " + inChannels + ", height, width], got "
          + java.util.Arrays.toString(x.shape()));
    }
    batch = x.size(0);
    inH = (int) x.size(2);
    inW = (int) x.size(3);
    int[] outSize;
    if (mode == ConvolutionMode.Same) {
      outSize = ConvolutionUtils.getOutputSize(x, kernel, stride, null, mode, dilation, CNN2DFormat.NCHW);
      pad = ConvolutionUtils.getSameModeTopLeftPadding(outSize, new int[] {inH, inW}, kernel, stride, dilation);
    } else {
      pad = padding;
      outSize = ConvolutionUtils.getOutputSize(x, kernel, stride, pad, mode, dilation, CNN2DFormat.NCHW);
    }
    outH = outSize[0];
    outW = outSize[1];
    // im2col into [B, outH, outW, inC, kH, kW] memory so that the 2-d view [B*P, K] needs no copy
    INDArray cols = Nd4j.createUninitialized(dataType, batch, outH, outW, inChannels, kernel[0], kernel[1]);
    Convolution.im2col(x, kernel[0], kernel[1], stride[0], stride[1], pad[0], pad[1], dilation[0], dilation[1],
        mode == ConvolutionMode.Same, cols.permute(0, 3, 4, 5, 1, 2));
    cols2d = cols.reshape('c', batch * outH * outW, patch);
    preOutput2d = cols2d.mmul(weights2d().transpose());
    if (bias != null) {
      preOutput2d.addiRowVector(bias);
    }
    INDArray act = activation.getActivation(preOutput2d.dup(), true);
    return act.reshape('c', batch, outH, outW, outChannels).permute(0, 3, 1, 2);
  }

  @Override
  public INDArray backward(INDArray epsilon, boolean needInputGradient) {
    long positions = (long) outH * outW;
    INDArray eps2d = epsilon.permute(0, 2, 3, 1).dup('c').reshape('c', batch * positions, outChannels);
    delta2d = activation.backprop(preOutput2d, eps2d).getFirst();
    preOutput2d = null;
    INDArray delta3 = delta2d.reshape('c', batch, positions, outChannels);
    INDArray cols3 = cols2d.reshape('c', batch, positions, patch);
    // per-example weight gradients D_i^T U_i: [B, outC, K]
    perExampleWeightGrad = Nd4j.matmul(delta3, cols3, true, false, false).reshape('c', batch, outChannels * patch);
    perExampleBiasGrad = bias != null ? delta3.sum(1) : null;
    cols2d = null;
    if (!needInputGradient) {
      return null;
    }
    INDArray dCols = delta2d.mmul(weights2d());
    INDArray dCols6 = dCols.reshape('c', batch, outH, outW, inChannels, kernel[0], kernel[1])
        .permute(0, 3, 4, 5, 1, 2);
    INDArray epsIn = Nd4j.create(dataType, batch, inChannels, inH, inW);
    Convolution.col2im(dCols6, epsIn, stride[0], stride[1], pad[0], pad[1], inH, inW, dilation[0], dilation[1]);
    return epsIn;
  }

  @Override
  public boolean hasParameters() {
    return true;
  }

  @Override
  public INDArray perExampleSquaredNorms() {
    INDArray w = Nd4j.getExecutioner().exec(new SquaredNorm(perExampleWeightGrad, true, 1));
    if (perExampleBiasGrad != null) {
      w.addi(Nd4j.getExecutioner().exec(new SquaredNorm(perExampleBiasGrad, true, 1)));
    }
    return w;
  }

  @Override
  public void accumulateClipped(INDArray clipFactors) {
    INDArray c = clipFactors.reshape(1, batch);
    weightGrad.assign(c.mmul(perExampleWeightGrad).reshape('c', weightGrad.shape()));
    if (biasGrad != null) {
      biasGrad.assign(c.mmul(perExampleBiasGrad));
    }
  }

  @Override
  public void release() {
    cols2d = null;
    preOutput2d = null;
    delta2d = null;
    perExampleWeightGrad = null;
    perExampleBiasGrad = null;
  }
}

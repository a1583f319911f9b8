package org.cloister.site.training;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Per-example clipping in one batched forward and backward pass: each layer rule derives the
 * per-example gradient norms from its inputs and output deltas, and the clipped sum is a
 * re-weighted product (no loop over examples).
 */
final class VectorizedGradients implements ClippedGradients {
  private final MultiLayerConfiguration conf;
  private final NetworkLayout layout;
  private final List<LayerRule> rules;
  private final List<LayerRule> parametrized = new ArrayList<>();
  private final int firstParametrized;
  private final DataType dataType;
  private final LayerWorkspaceMgr workspaces = LayerWorkspaceMgr.noWorkspaces();

  VectorizedGradients(MultiLayerNetwork net, NetworkLayout layout) {
    this(net, layout, GradientRules.installed());
  }

  VectorizedGradients(MultiLayerNetwork net, NetworkLayout layout, GradientRules plugins) {
    this.conf = net.getLayerWiseConfigurations();
    this.layout = layout;
    this.rules = DpCompatibility.rules(net, layout, plugins);
    int first = -1;
    for (LayerRule r : rules) {
      if (r.hasParameters()) {
        parametrized.add(r);
        if (first < 0) {
          first = r.index;
        }
      }
    }
    if (first < 0) {
      throw new UnsupportedLayerException("the network has no trainable parameters");
    }
    this.firstParametrized = first;
    this.dataType = net.params().dataType();
  }

  int parametrizedLayers() {
    return parametrized.size();
  }

  @Override
  public ClippedBatch clippedSum(INDArray features, INDArray labels, ClipPolicy policy) {
    if (policy.perLayer() && policy.thresholds().length != parametrized.size()) {
      throw new IllegalArgumentException("per-layer clipping needs " + parametrized.size()
          + " thresholds (one per layer with parameters), got " + policy.thresholds().length);
    }
    if (features == null || features.size(0) == 0) {
      layout.flatGradient().assign(0);
      return new ClippedBatch(new double[0], 0);
    }
    int batch = (int) features.size(0);
    try {
      // forward
      INDArray a = features;
      int last = rules.size() - 1;
      for (int i = 0; i <= last; i++) {
        InputPreProcessor pp = conf.getInputPreProcess(i);
        if (pp != null) {
          a = pp.preProcess(a, batch, workspaces);
        }
        a = rules.get(i).forward(a);
      }
      // backward: per-example deltas (loss gradients are per example, not averaged)
      INDArray eps = ((DenseRule) rules.get(last)).backwardFromLabels(labels.castTo(dataType), last > firstParametrized);
      for (int i = last - 1; i >= firstParametrized; i--) {
        InputPreProcessor pp = conf.getInputPreProcess(i + 1);
        if (pp != null) {
          eps = pp.backprop(eps, batch, workspaces);
        }
        eps = rules.get(i).backward(eps, i > firstParametrized);
      }
      return clipAndSum(parametrized, batch, policy, dataType);
    } finally {
      for (LayerRule r : rules) {
        r.release();
      }
    }
  }

  /**
   * From the per-example rules of a batch's forward and backward pass: each example's norm, its clip
   * factor(s), and the clipped sum written into the rules' gradient views. Shared by the layered
   * and the graph trainer.
   */
  static ClippedBatch clipAndSum(List<LayerRule> parametrized, int batch, ClipPolicy policy, DataType dataType) {
    // norms and clip factors
    int layers = parametrized.size();
    double[][] sq = new double[layers][];
    double[] total = new double[batch];
    for (int l = 0; l < layers; l++) {
      sq[l] = parametrized.get(l).perExampleSquaredNorms().reshape(batch).toDoubleVector();
      for (int b = 0; b < batch; b++) {
        total[b] += sq[l][b];
      }
    }
    int[] nonFinite = ClippedBatch.nonFinitePositions(total);
    if (nonFinite.length > 0) {
      return ClippedBatch.nonFinite(total, nonFinite);
    }
    double[] norms = new double[batch];
    int clipped = 0;
    if (!policy.perLayer()) {
      double[] c = new double[batch];
      double threshold = policy.threshold(0);
      for (int b = 0; b < batch; b++) {
        norms[b] = Math.sqrt(total[b]);
        c[b] = ClipFactors.factor(norms[b], threshold);
        if (c[b] < 1.0) {
          clipped++;
        }
      }
      INDArray factors = column(c, dataType);
      for (LayerRule r : parametrized) {
        r.accumulateClipped(factors);
      }
    } else {
      boolean[] any = new boolean[batch];
      for (int l = 0; l < layers; l++) {
        double[] c = new double[batch];
        double threshold = policy.threshold(l);
        for (int b = 0; b < batch; b++) {
          c[b] = ClipFactors.factor(Math.sqrt(sq[l][b]), threshold);
          any[b] |= c[b] < 1.0;
        }
        parametrized.get(l).accumulateClipped(column(c, dataType));
      }
      for (int b = 0; b < batch; b++) {
        norms[b] = Math.sqrt(total[b]);
        if (any[b]) {
          clipped++;
        }
      }
    }
    return new ClippedBatch(norms, clipped);
  }

  private static INDArray column(double[] c, DataType dataType) {
    if (dataType == DataType.DOUBLE) {
      return Nd4j.create(c, new long[] {c.length, 1}, DataType.DOUBLE);
    }
    float[] f = new float[c.length];
    for (int i = 0; i < c.length; i++) {
      f[i] = (float) c[i];
    }
    return Nd4j.create(f, new long[] {c.length, 1}, DataType.FLOAT);
  }
}

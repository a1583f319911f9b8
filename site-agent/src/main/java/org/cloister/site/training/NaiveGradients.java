package org.cloister.site.training;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The reference method: DL4J's own backpropagation on one example at a time, clipped and summed.
 * Slow (a loop over examples); kept as the benchmark's baseline and a cross-check.
 */
final class NaiveGradients implements ClippedGradients {
  private final MultiLayerNetwork net;
  private final NetworkLayout layout;
  private final int[] parametrizedLayers;

  NaiveGradients(MultiLayerNetwork net, NetworkLayout layout) {
    this(net, layout, GradientRules.installed());
  }

  NaiveGradients(MultiLayerNetwork net, NetworkLayout layout, GradientRules plugins) {
    DpCompatibility.check(net, plugins);
    this.net = net;
    this.layout = layout;
    int count = 0;
    for (int i = 0; i < layout.layers(); i++) {
      if (layout.length(i) > 0) {
        count++;
      }
    }
    parametrizedLayers = new int[count];
    int k = 0;
    for (int i = 0; i < layout.layers(); i++) {
      if (layout.length(i) > 0) {
        parametrizedLayers[k++] = i;
      }
    }
  }

  @Override
  public ClippedBatch clippedSum(INDArray features, INDArray labels, ClipPolicy policy) {
    INDArray flat = layout.flatGradient();
    if (features == null || features.size(0) == 0) {
      flat.assign(0);
      return new ClippedBatch(new double[0], 0);
    }
    if (policy.perLayer() && policy.thresholds().length != parametrizedLayers.length) {
      throw new IllegalArgumentException("per-layer clipping needs " + parametrizedLayers.length
          + " thresholds, got " + policy.thresholds().length);
    }
    int batch = (int) features.size(0);
    INDArray sum = flat.ulike().assign(0);
    double[] norms = new double[batch];
    int clipped = 0;
    INDArray x = features.castTo(net.params().dataType());
    INDArray y = labels.castTo(net.params().dataType());
    for (int b = 0; b < batch; b++) {
      net.setInput(x.getRow(b, true));
      net.setLabels(y.getRow(b, true));
      net.computeGradientAndScore();
      INDArray g = net.getGradientsViewArray();
      double total = 0;
      double[] layerNorms = new double[parametrizedLayers.length];
      for (int l = 0; l < parametrizedLayers.length; l++) {
        double n = segment(g, parametrizedLayers[l]).norm2Number().doubleValue();
        layerNorms[l] = n;
        total += n * n;
      }
      norms[b] = Math.sqrt(total);
      if (!Double.isFinite(norms[b])) {
        continue; // reported below: the caller drops this example
      }
      if (!policy.perLayer()) {
        double c = ClipFactors.factor(norms[b], policy.threshold(0));
        sum.addi(g.mul(c));
        if (c < 1.0) {
          clipped++;
        }
      } else {
        boolean any = false;
        for (int l = 0; l < parametrizedLayers.length; l++) {
          double c = ClipFactors.factor(layerNorms[l], policy.threshold(l));
          segment(sum, parametrizedLayers[l]).addi(segment(g, parametrizedLayers[l]).mul(c));
          any |= c < 1.0;
        }
        if (any) {
          clipped++;
        }
      }
    }
    net.clear();
    int[] nonFinite = ClippedBatch.nonFinitePositions(norms);
    if (nonFinite.length > 0) {
      return ClippedBatch.nonFinite(norms, nonFinite);
    }
    flat.assign(sum);
    return new ClippedBatch(norms, clipped);
  }

  private INDArray segment(INDArray flat, int layer) {
    long off = layout.offset(layer);
    return flat.get(NDArrayIndex.interval(0, 0, true), NDArrayIndex.interval(off, off + layout.length(layer)));
  }
}

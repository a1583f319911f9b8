package org.cloister.site.training;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The reference method: DL4J's own backpropagation on one example at a time, clipped and summed.
 * Slow (a loop over examples); kept as the benchmark's baseline and a cross-check.
 */
final class NaiveGradients implements ClippedGradients {
  private final DpModel model;
  private final long[][] segments;

  NaiveGradients(MultiLayerNetwork net, NetworkLayout layout) {
    this(net, layout, GradientRules.installed());
  }

  NaiveGradients(MultiLayerNetwork net, NetworkLayout layout, GradientRules plugins) {
    this(checked(net, plugins, layout));
  }

  /** For a model already checked by {@link DpCompatibility}. */
  NaiveGradients(DpModel model) {
    this.model = model;
    this.segments = model.parametrizedSegments();
  }

  private static DpModel checked(MultiLayerNetwork net, GradientRules plugins, NetworkLayout layout) {
    DpCompatibility.check(net, plugins);
    return new LayeredModel(net, layout);
  }

  @Override
  public ClippedBatch clippedSum(INDArray features, INDArray labels, ClipPolicy policy) {
    INDArray flat = model.flatGradient();
    if (features == null || features.size(0) == 0) {
      flat.assign(0);
      return new ClippedBatch(new double[0], 0);
    }
    if (policy.perLayer() && policy.thresholds().length != segments.length) {
      throw new IllegalArgumentException("per-layer clipping needs " + segments.length
          + " thresholds, got " + policy.thresholds().length);
    }
    int batch = (int) features.size(0);
    INDArray sum = flat.ulike().assign(0);
    double[] norms = new double[batch];
    int clipped = 0;
    INDArray x = features.castTo(model.dataType());
    INDArray y = labels.castTo(model.dataType());
    for (int b = 0; b < batch; b++) {
      model.dl4jGradient(x.getRow(b, true), y.getRow(b, true));
      INDArray g = model.flatGradient();
      double total = 0;
      double[] layerNorms = new double[segments.length];
      for (int l = 0; l < segments.length; l++) {
        double n = segment(g, l).norm2Number().doubleValue();
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
        for (int l = 0; l < segments.length; l++) {
          double c = ClipFactors.factor(layerNorms[l], policy.threshold(l));
          segment(sum, l).addi(segment(g, l).mul(c));
          any |= c < 1.0;
        }
        if (any) {
          clipped++;
        }
      }
    }
    model.clear();
    int[] nonFinite = ClippedBatch.nonFinitePositions(norms);
    if (nonFinite.length > 0) {
      return ClippedBatch.nonFinite(norms, nonFinite);
    }
    flat.assign(sum);
    return new ClippedBatch(norms, clipped);
  }

  private INDArray segment(INDArray flat, int l) {
    long off = segments[l][0];
    return flat.get(NDArrayIndex.interval(0, 0, true), NDArrayIndex.interval(off, off + segments[l][1]));
  }
}

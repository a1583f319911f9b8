package org.cloister.site.training;

/**
 * The DP-SGD parameters of a trainer.
 *
 * @param clipNorm C: the L2 sensitivity of one example's clipped gradient (with per-layer
 *     clipping, sqrt of the sum of the squared per-layer thresholds)
 * @param perLayerClipNorms per-layer thresholds, or an empty array for flat clipping
 * @param noiseMultiplier sigma: the noise standard deviation is sigma * C per coordinate
 * @param samplingRate q: the probability that an example joins a step's batch
 * @param method how per-example gradients are computed
 */
public record DpSgdSettings(double clipNorm, double[] perLayerClipNorms, double noiseMultiplier, double samplingRate,
                            PerExampleMethod method) {
  public DpSgdSettings {
    perLayerClipNorms = perLayerClipNorms.clone();
  }

  @Override
  public double[] perLayerClipNorms() {
    return perLayerClipNorms.clone();
  }
}

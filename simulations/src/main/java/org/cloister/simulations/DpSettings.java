package org.cloister.simulations;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Differential-privacy settings of a simulated study, per site.
 *
 * <p>Either a budget ({@code epsilon}, {@code delta}) from which the noise multiplier is
 * calibrated so that the planned rounds fit it, or an explicit {@code noiseMultiplier} (then
 * epsilon is whatever the accountant reports).
 *
 * @param enabled         false = the non-private baseline
 * @param epsilon         per-site epsilon ceiling (NaN when a noise multiplier is given instead)
 * @param delta           per-site delta
 * @param noiseMultiplier sigma; NaN to calibrate from the budget
 * @param clipNorm        per-example L2 clipping bound C
 * @param samplingRate    Poisson sampling probability q per step; NaN = batch size / site examples
 */
public record DpSettings(boolean enabled, double epsilon, double delta, double noiseMultiplier, double clipNorm,
                         double samplingRate) {

  public DpSettings {
    if (enabled) {
      if (!(delta > 0 && delta < 1)) {
        throw new IllegalArgumentException("--delta must be in (0, 1), got " + delta);
      }
      boolean hasEps = !Double.isNaN(epsilon);
      boolean hasSigma = !Double.isNaN(noiseMultiplier);
      if (hasEps == hasSigma) {
        throw new IllegalArgumentException("give exactly one of --epsilon or --noise-multiplier");
      }
      if (hasEps && !(epsilon > 0 && Double.isFinite(epsilon))) {
        throw new IllegalArgumentException("--epsilon must be > 0, got " + epsilon);
      }
      if (hasSigma && !(noiseMultiplier > 0 && Double.isFinite(noiseMultiplier))) {
        throw new IllegalArgumentException("--noise-multiplier must be > 0, got " + noiseMultiplier);
      }
      if (!(clipNorm > 0 && Double.isFinite(clipNorm))) {
        throw new IllegalArgumentException("--clip must be > 0, got " + clipNorm);
      }
      if (!Double.isNaN(samplingRate) && !(samplingRate > 0 && samplingRate <= 1)) {
        throw new IllegalArgumentException("--sampling-rate must be in (0, 1], got " + samplingRate);
      }
    }
  }

  public static DpSettings off() {
    return new DpSettings(false, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
  }

  /** A per-site budget from which sigma is calibrated. */
  public static DpSettings budget(double epsilon, double delta, double clipNorm) {
    return new DpSettings(true, epsilon, delta, Double.NaN, clipNorm, Double.NaN);
  }

  public Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("enabled", enabled);
    if (enabled) {
      m.put("epsilon", Double.isNaN(epsilon) ? null : epsilon);
      m.put("delta", delta);
      m.put("noise_multiplier", Double.isNaN(noiseMultiplier) ? null : noiseMultiplier);
      m.put("clip", clipNorm);
      m.put("sampling_rate", Double.isNaN(samplingRate) ? null : samplingRate);
    }
    return m;
  }
}

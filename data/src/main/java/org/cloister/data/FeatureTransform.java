package org.cloister.data;

/**
 * One feature's resolved transform: {@code x -> (clamp(t(x), lo, hi) - centre) / scale}, where t is
 * the rule's fixed {@link FeatureRule.Transform} (identity, asinh or log) and a missing value (NaN)
 * becomes the centre. Every constant is public or DP-released; nothing is refitted from the records
 * it is applied to.
 */
public record FeatureTransform(double lo, double hi, double centre, double scale, FeatureRule.Transform transform) {

  public FeatureTransform {
    java.util.Objects.requireNonNull(transform, "transform");
  }

  public double apply(double x) {
    if (Double.isNaN(x)) {
      return 0;
    }
    double t = transform.apply(x);
    return (Math.min(hi, Math.max(lo, t)) - centre) / scale;
  }

  static double asinh(double x) {
    double a = Math.abs(x);
    double r = Math.log(a + Math.sqrt(a * a + 1));
    return Math.copySign(Double.isInfinite(a) ? Double.MAX_VALUE : r, x);
  }
}

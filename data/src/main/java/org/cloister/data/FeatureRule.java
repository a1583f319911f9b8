package org.cloister.data;

import java.util.Objects;

/**
 * How a study turns one feature into a model input, fixed before any record is seen.
 *
 * <ul>
 *   <li>{@link Kind#PUBLIC}: public constants. Values are clamped to [lo, hi] (infinite bounds: no
 *       clamping), a missing value is the centre, and the input is {@code (x - centre) / scale};
 *       with {@link Transform#LOG} ({@link #logBounds}) x is replaced by log x and the bounds are on that scale.</li>
 *   <li>{@link Kind#PRIVATE}: centre and scale are estimated with a bounded differentially private
 *       mean and variance ({@link PrivateFeatureStats}) of the values clamped to the public
 *       [lo, hi], counted in the site's epsilon. With {@link Transform#ASINH}, the bounds apply to
 *       {@code asinh(x)} (a fixed, data-independent map) instead of x: the default when a study
 *       declares nothing about a feature.</li>
 * </ul>
 *
 * <p>Either way one record's input depends only on that record and on public or DP-released
 * constants, so adding or removing a patient moves no other patient's inputs.
 */
public record FeatureRule(String feature, Kind kind, double lo, double hi, double centre, double scale, Transform transform) {

  /** Public constants, or a private estimate within public bounds. */
  public enum Kind { PUBLIC, PRIVATE }

  /**
   * A fixed, data-independent map applied to the raw value before clamping; lo, hi and centre are on
   * its scale. It is a public choice (domain knowledge: sizes and areas are log-normal-ish), never fitted.
   */
  public enum Transform {
    IDENTITY, ASINH,
    /** Natural log; a value that is zero or negative maps to -infinity, i.e. is clamped to lo. */
    LOG;

    public double apply(double x) {
      return switch (this) {
        case IDENTITY -> x;
        case ASINH -> FeatureTransform.asinh(x);
        case LOG -> x > 0 ? Math.log(x) : Double.NEGATIVE_INFINITY;
      };
    }
  }

  /** asinh(x) is clamped to this range when a feature is estimated without declared bounds (|x| up to ~4e6). */
  public static final double ASINH_BOUND = 16;

  public FeatureRule {
    Objects.requireNonNull(feature, "feature");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(transform, "transform");
    if (Double.isNaN(lo) || Double.isNaN(hi) || !(lo < hi)) {
      throw new IllegalArgumentException("feature '" + feature + "': bounds must satisfy lo < hi, got [" + lo + ", " + hi + "]");
    }
    if (kind == Kind.PRIVATE && !(Double.isFinite(lo) && Double.isFinite(hi))) {
      throw new IllegalArgumentException("feature '" + feature + "': a private estimate needs finite public bounds, got ["
          + lo + ", " + hi + "]");
    }
    if (kind == Kind.PUBLIC) {
      if (!Double.isFinite(centre) || !(scale > 0) || !Double.isFinite(scale)) {
        throw new IllegalArgumentException("feature '" + feature + "': centre must be finite and scale > 0, got centre "
            + centre + ", scale " + scale);
      }
    }
  }

  /** Public clinical bounds: clamp to [lo, hi], centre at the midpoint, a quarter of the range as the unit (inputs in [-2, 2]). */
  public static FeatureRule bounds(String feature, double lo, double hi) {
    return new FeatureRule(feature, Kind.PUBLIC, lo, hi, (lo + hi) / 2, (hi - lo) / 4, Transform.IDENTITY);
  }

  /**
   * Public clinical bounds on a positive, right-skewed measurement, taken on the log scale: x is
   * clamped to [lo, hi] (lo > 0), then the input is {@code (log x - centre) / scale} with the centre
   * at the midpoint of [log lo, log hi] and a quarter of that range as the unit (inputs in [-2, 2]).
   */
  public static FeatureRule logBounds(String feature, double lo, double hi) {
    if (!(lo > 0) || !Double.isFinite(hi) || !(lo < hi)) {
      throw new IllegalArgumentException("feature '" + feature + "': log bounds must satisfy 0 < lo < hi < infinity, got ["
          + lo + ", " + hi + "]");
    }
    double a = Math.log(lo);
    double b = Math.log(hi);
    return new FeatureRule(feature, Kind.PUBLIC, a, b, (a + b) / 2, (b - a) / 4, Transform.LOG);
  }

  /** Public centre and scale, no clamping. */
  public static FeatureRule affine(String feature, double centre, double scale) {
    return new FeatureRule(feature, Kind.PUBLIC, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, centre, scale, Transform.IDENTITY);
  }

  /** A private estimate of centre and scale within public bounds. */
  public static FeatureRule privateWithin(String feature, double lo, double hi) {
    return new FeatureRule(feature, Kind.PRIVATE, lo, hi, Double.NaN, Double.NaN, Transform.IDENTITY);
  }

  /** A private estimate on asinh(x) clamped to [-{@value #ASINH_BOUND}, {@value #ASINH_BOUND}]: nothing declared. */
  public static FeatureRule privateDefault(String feature) {
    return new FeatureRule(feature, Kind.PRIVATE, -ASINH_BOUND, ASINH_BOUND, Double.NaN, Double.NaN, Transform.ASINH);
  }
}

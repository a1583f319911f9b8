package org.cloister.dp.math;

import org.apache.commons.numbers.gamma.Erfc;
import org.apache.commons.numbers.gamma.Erfcx;

/**
 * The complementary error function and the normal tail functions the accountants use, over
 * Apache Commons Numbers ({@code Erfc}, {@code Erfcx}: a few ulp over the whole double range),
 * with {@link #logErfc} finite in far tails where {@code erfc} underflows. The tests check the
 * accountants' accuracy needs against mpmath reference values.
 */
public final class ErrorFunction {

  private static final double SQRT_HALF = 0.70710678118654752440084436210485;

  private ErrorFunction() {
  }

  /** The scaled complementary error function {@code exp(x^2) erfc(x)}. */
  public static double erfcx(double x) {
    return Erfcx.value(x);
  }

  /** The complementary error function {@code 1 - erf(x)}, accurate relative to its value. */
  public static double erfc(double x) {
    return Erfc.value(x);
  }

  /** {@code log(erfc(x))}, finite for every finite x (no underflow in the far right tail). */
  public static double logErfc(double x) {
    if (x >= 0) {
      if (x == Double.POSITIVE_INFINITY) {
        return Double.NEGATIVE_INFINITY;
      }
      return -x * x + Math.log(Erfcx.value(x));
    }
    return Math.log(Erfc.value(x)); // NaN stays NaN
  }

  /** Standard normal survival function {@code P(Z > z)}. */
  public static double normalSf(double z) {
    return 0.5 * erfc(z * SQRT_HALF);
  }

  /** Standard normal distribution function {@code P(Z <= z)}. */
  public static double normalCdf(double z) {
    return 0.5 * erfc(-z * SQRT_HALF);
  }

  /** {@code log P(Z > z)} for a standard normal Z, finite in the far tail. */
  public static double logNormalSf(double z) {
    return Math.log(0.5) + logErfc(z * SQRT_HALF);
  }
}

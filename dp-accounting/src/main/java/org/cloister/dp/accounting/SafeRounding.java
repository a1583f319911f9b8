package org.cloister.dp.accounting;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Decimal rendering of privacy figures in the safe direction. A printed or stored noise
 * multiplier, epsilon or delta is rounded <b>up</b> (towards +infinity): a printed sigma then gives
 * at most the printed epsilon, and a printed epsilon or delta never understates the spend. The
 * rounding starts from the shortest decimal that reads back as the same double
 * ({@link Double#toString}), so reading a printed value back always gives a double at least the
 * original (and 1e-5 prints as 1e-5, not 1.00001e-5).
 */
public final class SafeRounding {
  private SafeRounding() {
  }

  /** {@code value} rounded up to {@code digits} significant digits, trailing zeros removed. */
  public static String up(double value, int digits) {
    if (Double.isNaN(value)) {
      return "NaN";
    }
    if (Double.isInfinite(value)) {
      return value > 0 ? "infinity" : "-infinity";
    }
    if (value == 0) {
      return "0";
    }
    BigDecimal d = BigDecimal.valueOf(value).round(new MathContext(digits, RoundingMode.CEILING)).stripTrailingZeros();
    int exponent = d.precision() - d.scale() - 1;
    if (exponent < -4 || exponent >= digits) {
      // like %g: 1.00001e-07
      return d.movePointLeft(exponent).toPlainString() + String.format(java.util.Locale.ROOT, "e%+03d", exponent);
    }
    return d.toPlainString();
  }

  /** {@code value} rounded up to {@code decimals} places after the point, all places shown. */
  public static String upFixed(double value, int decimals) {
    if (!Double.isFinite(value)) {
      return up(value, 1);
    }
    return BigDecimal.valueOf(value).setScale(decimals, RoundingMode.CEILING).toPlainString();
  }

  /** The double {@code value} rounded up to {@code digits} significant digits (for storing). */
  public static double upDouble(double value, int digits) {
    if (!Double.isFinite(value) || value == 0) {
      return value;
    }
    double r = Double.parseDouble(up(value, digits));
    return r < value ? Math.nextUp(value) : r;
  }
}

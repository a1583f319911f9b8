package org.cloister.dp.math;

/** Arithmetic on numbers stored as their natural logarithms. */
public final class LogSpace {

  private LogSpace() {
  }

  /** {@code log(exp(a) + exp(b))}. */
  public static double add(double a, double b) {
    if (a == Double.NEGATIVE_INFINITY) {
      return b;
    }
    if (b == Double.NEGATIVE_INFINITY) {
      return a;
    }
    double max = Math.max(a, b);
    return max + Math.log1p(Math.exp(-Math.abs(a - b)));
  }

  /**
   * {@code log(exp(a) - exp(b))} for {@code a >= b}.
   *
   * @throws ArithmeticException if {@code a < b} (the difference would be negative)
   */
  public static double subtract(double a, double b) {
    if (b == Double.NEGATIVE_INFINITY) {
      return a;
    }
    if (a < b) {
      throw new ArithmeticException("log-space subtraction would be negative: " + a + " < " + b);
    }
    if (a == b) {
      return Double.NEGATIVE_INFINITY;
    }
    double d = b - a; // < 0
    return a + (d > -0.693 ? Math.log(-Math.expm1(d)) : Math.log1p(-Math.exp(d)));
  }

  /**
   * A running sum of signed terms, each given as a sign and the logarithm of its magnitude. The
   * sum itself is kept as sign and log-magnitude, so terms far below or above 1 neither underflow
   * nor overflow and cancellation between signs is exact up to rounding.
   */
  public static final class SignedSum {
    private double logMagnitude = Double.NEGATIVE_INFINITY;
    private boolean negative;

    /** Adds {@code sign * exp(logTerm)}; {@code sign} must be +1 or -1. */
    public void add(int sign, double logTerm) {
      if (logTerm == Double.NEGATIVE_INFINITY) {
        return;
      }
      boolean termNegative = sign < 0;
      if (logMagnitude == Double.NEGATIVE_INFINITY) {
        logMagnitude = logTerm;
        negative = termNegative;
      } else if (termNegative == negative) {
        logMagnitude = LogSpace.add(logMagnitude, logTerm);
      } else if (logMagnitude >= logTerm) {
        logMagnitude = LogSpace.subtract(logMagnitude, logTerm);
      } else {
        logMagnitude = LogSpace.subtract(logTerm, logMagnitude);
        negative = termNegative;
      }
    }

    /** Log of the absolute value of the sum. */
    public double logMagnitude() {
      return logMagnitude;
    }

    /** Whether the sum is negative. */
    public boolean isNegative() {
      return negative && logMagnitude != Double.NEGATIVE_INFINITY;
    }
  }
}

package org.cloister.dp.noise;

/**
 * Standard normal samples from uniform 64-bit words by the ziggurat method (Marsaglia and Tsang,
 * J. Stat. Software 5(8), 2000) with 256 layers of equal area. The fast path (98.8% of samples)
 * uses one word: 8 bits choose the layer, the remaining 56 give a signed uniform with 2^-55
 * resolution, which is multiplied by the layer width. The base layer's tail beyond r uses
 * Marsaglia's exact exponential-rejection method. The table is computed at class initialization:
 * r is solved by bisection so that the top layer closes at x = 0 to double precision.
 */
final class Ziggurat {

  static final int LAYERS = 256;
  /** x[0] is the base layer's virtual width V/f(r), x[1] = r > x[2] > ... > x[256] = 0. */
  static final double[] X = new double[LAYERS + 1];
  /** F[i] = exp(-x[i]^2 / 2). */
  static final double[] F = new double[LAYERS + 1];
  static final double R;
  static final double V;

  static {
    double lo = 3.0;
    double hi = 4.0;
    for (int iter = 0; iter < 200; iter++) {
      double mid = 0.5 * (lo + hi);
      if (topOvershoots(mid)) {
        lo = mid; // layers too fat: r must grow
      } else {
        hi = mid;
      }
    }
    R = hi;
    V = area(R);
    X[1] = R;
    F[1] = f(R);
    X[0] = V / F[1];
    F[0] = 0;
    for (int i = 1; i < LAYERS - 1; i++) {
      F[i + 1] = F[i] + V / X[i];
      X[i + 1] = Math.sqrt(-2 * Math.log(F[i + 1]));
    }
    X[LAYERS] = 0;
    F[LAYERS] = 1;
  }

  private Ziggurat() {
  }

  private static double f(double x) {
    return Math.exp(-0.5 * x * x);
  }

  /** Area of each layer for base edge r: r f(r) + integral_r^inf f. */
  private static double area(double r) {
    return r * f(r) + Math.sqrt(Math.PI / 2) * org.cloister.dp.math.ErrorFunction.erfc(r / Math.sqrt(2));
  }

  /** Whether stacking 255 layers of area V(r) above r overshoots f(0) = 1. */
  private static boolean topOvershoots(double r) {
    double v = area(r);
    double x = r;
    double y = f(r);
    for (int i = 1; i < LAYERS; i++) {
      y += v / x;
      if (y >= 1) {
        return i < LAYERS - 1 || y > 1;
      }
      x = Math.sqrt(-2 * Math.log(y));
    }
    return false;
  }

  /** One N(0, 1) sample. */
  static double sample(AesCtrRandom random) {
    while (true) {
      long bits = random.nextLong();
      int i = (int) (bits & 0xFF);
      double u = (bits >> 8) * 0x1.0p-55; // signed uniform in [-1, 1)
      double x = u * X[i];
      if (Math.abs(x) < X[i + 1]) {
        return x;
      }
      if (i == 0) {
        return u < 0 ? -tail(random) : tail(random);
      }
      double y = F[i] + uniform(random) * (F[i + 1] - F[i]);
      if (y < f(x)) {
        return x;
      }
    }
  }

  /** A sample from the normal tail beyond r (Marsaglia 1964). */
  private static double tail(AesCtrRandom random) {
    while (true) {
      double a = -Math.log(uniformPositive(random)) / R;
      double b = -Math.log(uniformPositive(random));
      if (2 * b >= a * a) {
        return R + a;
      }
    }
  }

  private static double uniform(AesCtrRandom random) {
    return (random.nextLong() >>> 11) * 0x1.0p-53;
  }

  /** Uniform in (0, 1]. */
  private static double uniformPositive(AesCtrRandom random) {
    return ((random.nextLong() >>> 11) + 1) * 0x1.0p-53;
  }
}

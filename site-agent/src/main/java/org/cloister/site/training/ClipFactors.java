package org.cloister.site.training;

/** The clip factor min(1, C / ||g||), shared by both gradient methods. */
final class ClipFactors {
  private ClipFactors() {
  }

  static double factor(double norm, double threshold) {
    if (Double.isNaN(norm)) {
      throw new RoundDeclinedException("a per-example gradient is not a number (training diverged: lower the learning rate)");
    }
    return norm > threshold ? threshold / norm : 1.0;
  }
}

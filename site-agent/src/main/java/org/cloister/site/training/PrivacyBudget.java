package org.cloister.site.training;

/** A site's (epsilon, delta) ceiling over everything it ever releases. */
public record PrivacyBudget(double epsilon, double delta) {
  public PrivacyBudget {
    if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
      throw new IllegalArgumentException("privacy budget epsilon must be positive and finite, got " + epsilon);
    }
    if (!(delta > 0 && delta < 1)) {
      throw new IllegalArgumentException("privacy budget delta must be in (0, 1), got " + delta);
    }
  }

  /** The default per-site budget of the demo study: epsilon 3 at delta 1e-5. */
  public static PrivacyBudget defaultSiteBudget() {
    return new PrivacyBudget(3.0, 1e-5);
  }
}

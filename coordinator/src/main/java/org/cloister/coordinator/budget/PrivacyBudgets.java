package org.cloister.coordinator.budget;

import java.util.Map;

/**
 * Each site's (epsilon, delta) ceiling for a study: a default and per-site overrides.
 */
public record PrivacyBudgets(Ceiling defaultCeiling, Map<String, Ceiling> perSite) {

  /** One party's ceiling. */
  public record Ceiling(double epsilon, double delta) {
    public Ceiling {
      if (!(epsilon > 0) || Double.isNaN(epsilon)) {
        throw new IllegalArgumentException("epsilon ceiling must be > 0, got " + epsilon);
      }
      if (!(delta > 0 && delta < 1)) {
        throw new IllegalArgumentException("delta ceiling must be in (0, 1), got " + delta);
      }
    }
  }

  public PrivacyBudgets {
    perSite = Map.copyOf(perSite);
  }

  public Ceiling ceilingOf(String siteId) {
    return perSite.getOrDefault(siteId, defaultCeiling);
  }
}

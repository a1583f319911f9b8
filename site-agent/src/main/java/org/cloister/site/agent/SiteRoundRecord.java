package org.cloister.site.agent;

import java.util.Map;

/** What the site did in one round (kept locally; printed by demos). */
public record SiteRoundRecord(int round, String roundId, boolean accepted, String detail, Map<String, Double> metrics) {
  public SiteRoundRecord {
    metrics = Map.copyOf(metrics);
  }
}

package org.cloister.simulations;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One round as the simulation saw it: global test figures and who took part.
 *
 * @param siteEpsilon each site's cumulative epsilon after this round, as the site reported it with
 *                    its update (sites that did not report this round keep their last figure);
 *                    empty for the non-private baseline
 */
public record RoundReport(int round, long modelVersion, List<String> sites, Map<String, String> leftOut,
                          double accuracy, double auc, double loss, long durationMillis, Map<String, Double> siteEpsilon) {
  public RoundReport {
    sites = List.copyOf(sites);
    leftOut = Map.copyOf(leftOut);
    siteEpsilon = java.util.Collections.unmodifiableMap(new TreeMap<>(siteEpsilon == null ? Map.of() : siteEpsilon));
  }

  public RoundReport(int round, long modelVersion, List<String> sites, Map<String, String> leftOut,
                     double accuracy, double auc, double loss, long durationMillis) {
    this(round, modelVersion, sites, leftOut, accuracy, auc, loss, durationMillis, Map.of());
  }

  /** The largest cumulative epsilon any site has spent so far (NaN when nothing was reported). */
  public double maxEpsilon() {
    return siteEpsilon.values().stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
  }
}

package org.cloister.simulations;

import java.util.List;
import java.util.Map;

/** One round as the simulation saw it: global test figures and who took part. */
public record RoundReport(int round, long modelVersion, List<String> sites, Map<String, String> leftOut,
                          double accuracy, double auc, double loss, long durationMillis) {
  public RoundReport {
    sites = List.copyOf(sites);
    leftOut = Map.copyOf(leftOut);
  }
}

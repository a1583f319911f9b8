package org.cloister.simulations;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.models.EvaluationMetrics;

/** Results of a study built by hand (no training), for tests of writers and reports. */
public final class SyntheticResults {
  private SyntheticResults() {
  }

  /** {@code sites} sites, {@code rounds} rounds, accuracy rising to {@code finalAccuracy}, epsilon rising to the ceiling. */
  public static SimulationResult study(int sites, int rounds, double epsilon, double finalAccuracy, Path out) {
    SimulationConfig cfg = SimulationConfig.builder().studyId("synthetic").sites(sites).rounds(rounds)
        .partition("dirichlet:0.5").dp(DpSettings.budget(epsilon, 1e-5, 1.0)).outDir(out).build();
    List<RoundReport> rs = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    for (int s = 0; s < sites; s++) {
      ids.add("site-" + (s + 1));
    }
    for (int r = 1; r <= rounds; r++) {
      Map<String, Double> eps = new LinkedHashMap<>();
      for (int s = 0; s < sites; s++) {
        eps.put(ids.get(s), epsilon * r / rounds * (1 - 0.1 * s / sites));
      }
      double acc = finalAccuracy - 0.3 * (rounds - r) / rounds;
      rs.add(new RoundReport(r, r + 1, ids, r == 2 ? Map.of("site-1", "no update before the deadline") : Map.of(),
          acc, Math.min(1, acc + 0.03), 0.5 - 0.02 * r, 100 + r, eps));
    }
    List<SiteReport> siteReports = new ArrayList<>();
    for (int s = 0; s < sites; s++) {
      siteReports.add(new SiteReport(ids.get(s), 100 + s, rounds, rs.get(rounds - 1).siteEpsilon().get(ids.get(s)), 1e-5));
    }
    return new SimulationResult(cfg, rs, new EvaluationMetrics(finalAccuracy, Math.min(1, finalAccuracy + 0.03), 0.2, 113),
        siteReports, "finished: " + rounds + " rounds completed", 1234, 3.21);
  }
}

package org.cloister.simulations;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes {@code results.json}, {@code rounds.csv} and {@code sites.csv} for a simulated study. A
 * large study ({@value #LARGE} sites or more) keeps results.json to per-round summaries (counts,
 * the spread of epsilon over sites) and the sites' distributions; every site's row is in sites.csv.
 */
public final class ResultsWriter {
  /** From this many sites on, results.json summarizes sites instead of listing them. */
  public static final int LARGE = 100;
  private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public Map<String, Object> toMap(SimulationResult r) {
    Map<String, Object> root = new LinkedHashMap<>();
    List<Map<String, Object>> rounds = new ArrayList<>();
    for (RoundReport rr : r.rounds()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("round", rr.round());
      m.put("model_version", rr.modelVersion());
      m.put("accuracy", finite(rr.accuracy()));
      m.put("auc", finite(rr.auc()));
      m.put("loss", finite(rr.loss()));
      boolean large = r.config().sites() >= LARGE;
      if (large) {
        m.put("sites_aggregated", rr.sites().size());
        Map<String, Long> reasons = new java.util.TreeMap<>();
        rr.leftOut().values().forEach(why -> reasons.merge(why.split(":", 2)[0], 1L, Long::sum));
        m.put("left_out", reasons); // how many sites for each kind of reason
        if (!rr.siteEpsilon().isEmpty()) {
          m.put("epsilon", spread(rr.siteEpsilon().values().stream().mapToDouble(Double::doubleValue).toArray()));
        }
      } else {
        m.put("sites", rr.sites());
        m.put("left_out", rr.leftOut());
        if (!rr.siteEpsilon().isEmpty()) {
          m.put("epsilon", rr.siteEpsilon()); // each site's cumulative epsilon after this round
        }
      }
      m.put("duration_ms", rr.durationMillis());
      rounds.add(m);
    }
    root.put("rounds", rounds);
    Map<String, Object> fin = new LinkedHashMap<>();
    fin.put("accuracy", finite(r.finalMetrics().accuracy()));
    fin.put("auc", finite(r.finalMetrics().auc()));
    fin.put("loss", finite(r.finalMetrics().logLoss()));
    fin.put("test_examples", r.finalMetrics().examples());
    root.put("final", fin);
    if (r.config().sites() >= LARGE) {
      Map<String, Object> sites = new LinkedHashMap<>();
      sites.put("count", r.sites().size());
      sites.put("examples", spread(r.sites().stream().mapToDouble(SiteReport::examples).toArray()));
      sites.put("rounds_contributed", spread(r.sites().stream().mapToDouble(SiteReport::roundsContributed).toArray()));
      double[] eps = r.sites().stream().mapToDouble(SiteReport::epsilon).toArray();
      sites.put("epsilon", java.util.Arrays.stream(eps).allMatch(Double::isFinite) ? spread(eps) : null);
      sites.put("per_site", "sites.csv");
      root.put("sites", sites);
    } else {
      root.put("sites", r.sites().stream().map(FederatedSimulation::siteMap).toList());
    }
    root.put("status", r.status());
    // simulations draw DP noise from seeded generators: their models carry no privacy guarantee
    root.put("simulation_only", true);
    root.put("wall_ms", r.wallMillis());
    Map<String, Object> config = r.config().describe();
    if (Double.isFinite(r.noiseMultiplier())) {
      config.put("noise_multiplier_used", r.noiseMultiplier());
    }
    root.put("config", config);
    return root;
  }

  public String toJson(SimulationResult r) throws IOException {
    return json.writeValueAsString(toMap(r));
  }

  /** Writes both files into {@code dir} (created if needed) and returns the JSON path. */
  public Path write(SimulationResult r, Path dir) throws IOException {
    Files.createDirectories(dir);
    Path out = dir.resolve("results.json");
    Files.writeString(out, toJson(r) + "\n", StandardCharsets.UTF_8);
    StringBuilder csv = new StringBuilder("round,model_version,sites,accuracy,auc,loss,max_epsilon,duration_ms\n");
    for (RoundReport rr : r.rounds()) {
      csv.append(String.format(Locale.ROOT, "%d,%d,%d,%.6f,%.6f,%.6f,%s,%d%n", rr.round(), rr.modelVersion(),
          rr.sites().size(), rr.accuracy(), rr.auc(), rr.loss(),
          Double.isNaN(rr.maxEpsilon()) ? "" : String.format(Locale.ROOT, "%.6f", rr.maxEpsilon()), rr.durationMillis()));
    }
    Files.writeString(dir.resolve("rounds.csv"), csv.toString(), StandardCharsets.UTF_8);
    try (java.io.BufferedWriter w = Files.newBufferedWriter(dir.resolve("sites.csv"), StandardCharsets.UTF_8)) {
      w.write("site,examples,rounds_contributed,epsilon,delta\n");
      for (SiteReport s : r.sites()) {
        w.write(String.format(Locale.ROOT, "%s,%d,%d,%s,%s%n", s.id(), s.examples(), s.roundsContributed(),
            Double.isFinite(s.epsilon()) ? String.format(Locale.ROOT, "%.6f", s.epsilon()) : "inf",
            Double.isFinite(s.delta()) ? String.valueOf(s.delta()) : ""));
      }
    }
    return out;
  }

  /** min, median, max and mean of {@code values} (empty: nulls). */
  static Map<String, Double> spread(double[] values) {
    Map<String, Double> m = new LinkedHashMap<>();
    if (values.length == 0) {
      return m;
    }
    double[] v = values.clone();
    java.util.Arrays.sort(v);
    m.put("min", v[0]);
    m.put("median", v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2);
    m.put("max", v[v.length - 1]);
    m.put("mean", java.util.Arrays.stream(v).average().orElseThrow());
    return m;
  }

  private static Double finite(double v) {
    return Double.isFinite(v) ? v : null;
  }
}

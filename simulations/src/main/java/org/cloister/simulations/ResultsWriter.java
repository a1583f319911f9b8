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

/** Writes {@code results.json} and {@code rounds.csv} for a simulated study. */
public final class ResultsWriter {
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
      m.put("sites", rr.sites());
      m.put("left_out", rr.leftOut());
      if (!rr.siteEpsilon().isEmpty()) {
        m.put("epsilon", rr.siteEpsilon()); // each site's cumulative epsilon after this round
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
    root.put("sites", r.sites().stream().map(FederatedSimulation::siteMap).toList());
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
    return out;
  }

  private static Double finite(double v) {
    return Double.isFinite(v) ? v : null;
  }
}

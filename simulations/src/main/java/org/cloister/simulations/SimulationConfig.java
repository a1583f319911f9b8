package org.cloister.simulations;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A simulated study: the data, how it is split over virtual hospitals, the model and the
 * training schedule.
 *
 * @param dataset      {@code builtin:wdbc} or {@code csv:PATH}
 * @param labelColumn  label column for CSV datasets
 * @param partition    {@code iid} or {@code dirichlet:ALPHA}
 * @param testFraction stratified hold-out fraction kept by the simulation as the global test split
 */
public record SimulationConfig(String studyId, String dataset, String labelColumn, int sites, String partition,
                               int rounds, int localEpochs, int batchSize, double learningRate, String model,
                               double testFraction, long seed, Duration roundDeadline, int minSitesPerRound,
                               Path outDir) {

  public SimulationConfig {
    if (sites < 1) {
      throw new IllegalArgumentException("--sites must be >= 1, got " + sites);
    }
    if (rounds < 1) {
      throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
    }
    if (localEpochs < 1) {
      throw new IllegalArgumentException("--local-epochs must be >= 1, got " + localEpochs);
    }
    if (batchSize < 1) {
      throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
    }
    if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
      throw new IllegalArgumentException("--learning-rate must be > 0, got " + learningRate);
    }
    if (!(testFraction > 0 && testFraction < 1)) {
      throw new IllegalArgumentException("test fraction must be in (0,1), got " + testFraction);
    }
    if (minSitesPerRound < 1 || minSitesPerRound > sites) {
      throw new IllegalArgumentException("--min-sites must be in [1, " + sites + "], got " + minSitesPerRound);
    }
  }

  /** The demo study: WDBC over three hospitals, logistic regression, ten rounds. */
  public static SimulationConfig demo(Path outDir) {
    return new SimulationConfig("demo-wdbc", "builtin:wdbc", "malignant", 3, "iid", 10, 2, 16, 0.1, "logreg",
        0.2, 42, Duration.ofSeconds(60), 2, outDir);
  }

  /** A JSON-friendly view for results files. */
  public Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("study_id", studyId);
    m.put("dataset", dataset);
    m.put("label", labelColumn);
    m.put("sites", sites);
    m.put("partition", partition);
    m.put("rounds", rounds);
    m.put("local_epochs", localEpochs);
    m.put("batch_size", batchSize);
    m.put("learning_rate", learningRate);
    m.put("model", model);
    m.put("test_fraction", testFraction);
    m.put("seed", seed);
    m.put("round_deadline_s", roundDeadline.toSeconds());
    m.put("min_sites_per_round", minSitesPerRound);
    return m;
  }
}

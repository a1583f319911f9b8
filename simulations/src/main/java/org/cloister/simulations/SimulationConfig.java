package org.cloister.simulations;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A simulated study: the data, how it is split over virtual hospitals, the model, the training
 * schedule and the privacy settings. Built from flags, from a scenario file, or both (flags win).
 *
 * @param dataset      {@code builtin:wdbc} or {@code csv:PATH}
 * @param labelColumn  label column for CSV datasets
 * @param partition    {@code iid}, {@code dirichlet:ALPHA}, {@code label-skew:K} or {@code by-column:NAME}
 * @param localEpochs  local epochs per round (used when {@code localSteps} is 0)
 * @param localSteps   local optimizer steps per round; 0 = use {@code localEpochs}
 * @param testFraction stratified hold-out fraction kept by the simulation as the global test split
 * @param preprocessing the study's feature handling; null = the dataset's own (public bounds for the
 *                     shipped datasets, private estimation for a CSV)
 * @param countPrivate sites release nothing that depends on their record counts: q and steps fixed by
 *                     the study, equal aggregation weights, no count in Join, envelopes or metrics
 * @param csv          how a {@code csv:} dataset is read (delimiter, ignored columns, missing values)
 */
public record SimulationConfig(String studyId, String dataset, String labelColumn, int sites, String partition,
                               int rounds, int localEpochs, int localSteps, int batchSize, double learningRate,
                               String model, String strategy, double testFraction, long seed, Duration roundDeadline,
                               int minSitesPerRound, DpSettings dp, Path outDir,
                               org.cloister.data.PreprocessingSpec preprocessing, boolean countPrivate,
                               org.cloister.data.CsvOptions csv) {

  public SimulationConfig {
    Objects.requireNonNull(dp, "dp");
    Objects.requireNonNull(csv, "csv");
    if (sites < 1) {
      throw new IllegalArgumentException("--sites must be >= 1, got " + sites);
    }
    if (rounds < 1) {
      throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
    }
    if (localEpochs < 1) {
      throw new IllegalArgumentException("--local-epochs must be >= 1, got " + localEpochs);
    }
    if (localSteps < 0) {
      throw new IllegalArgumentException("--local-steps must be >= 0, got " + localSteps);
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
    org.cloister.coordinator.strategy.Strategies.parse(strategy); // names a bad strategy or mu
    if (countPrivate && dp.enabled() && (Double.isNaN(dp.samplingRate()) || localSteps == 0)) {
      throw new IllegalArgumentException("count_private needs dp.sampling_rate and local_steps fixed by the study "
          + "(otherwise q = batch/n and the step count reveal each site's record count)");
    }
  }

  /** The demo study: WDBC over three hospitals, logistic regression, ten rounds. */
  public static SimulationConfig demo(Path outDir) {
    return builder().outDir(outDir).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.studyId = studyId;
    b.dataset = dataset;
    b.labelColumn = labelColumn;
    b.sites = sites;
    b.partition = partition;
    b.rounds = rounds;
    b.localEpochs = localEpochs;
    b.localSteps = localSteps;
    b.batchSize = batchSize;
    b.learningRate = learningRate;
    b.model = model;
    b.strategy = strategy;
    b.testFraction = testFraction;
    b.seed = seed;
    b.roundDeadline = roundDeadline;
    b.minSitesPerRound = minSitesPerRound;
    b.dp = dp;
    b.outDir = outDir;
    b.preprocessing = preprocessing;
    b.countPrivate = countPrivate;
    b.csv = csv;
    return b;
  }

  /** Mutable builder with the demo study's values as defaults. */
  public static final class Builder {
    String studyId = "demo-wdbc";
    String dataset = "builtin:wdbc";
    String labelColumn = "malignant";
    int sites = 3;
    String partition = "iid";
    int rounds = 10;
    int localEpochs = 2;
    int localSteps = 0;
    int batchSize = 16;
    double learningRate = 0.1;
    String model = "logreg";
    String strategy = "fedavg";
    double testFraction = 0.2;
    long seed = 42;
    Duration roundDeadline = Duration.ofSeconds(60);
    Integer minSitesPerRound;
    DpSettings dp;
    Path outDir = Path.of("out");
    org.cloister.data.PreprocessingSpec preprocessing;
    boolean countPrivate;
    org.cloister.data.CsvOptions csv = org.cloister.data.CsvOptions.DEFAULT;

    public Builder studyId(String v) { studyId = v; return this; }
    public Builder dataset(String v) { dataset = v; return this; }
    public Builder labelColumn(String v) { labelColumn = v; return this; }
    public Builder sites(int v) { sites = v; return this; }
    public Builder partition(String v) { partition = v; return this; }
    public Builder rounds(int v) { rounds = v; return this; }
    public Builder localEpochs(int v) { localEpochs = v; return this; }
    public Builder localSteps(int v) { localSteps = v; return this; }
    public Builder batchSize(int v) { batchSize = v; return this; }
    public Builder learningRate(double v) { learningRate = v; return this; }
    public Builder model(String v) { model = v; return this; }
    public Builder strategy(String v) { strategy = v; return this; }
    public Builder testFraction(double v) { testFraction = v; return this; }
    public Builder seed(long v) { seed = v; return this; }
    public Builder roundDeadline(Duration v) { roundDeadline = v; return this; }
    public Builder minSitesPerRound(int v) { minSitesPerRound = v; return this; }
    public Builder dp(DpSettings v) { dp = Objects.requireNonNull(v, "dp"); return this; }

    /**
     * Whether DP settings were given (a scenario's {@code dp:} block or a flag). The command line
     * uses this to be private by default; the Java API's default stays the non-private baseline.
     */
    public boolean dpGiven() { return dp != null; }

    /** The DP settings as they stand (the non-private baseline when none were given). */
    DpSettings currentDp() { return dp != null ? dp : DpSettings.off(); }
    public Builder outDir(Path v) { outDir = v; return this; }
    public Builder preprocessing(org.cloister.data.PreprocessingSpec v) { preprocessing = v; return this; }
    public Builder countPrivate(boolean v) { countPrivate = v; return this; }
    public Builder csv(org.cloister.data.CsvOptions v) { csv = Objects.requireNonNull(v, "csv"); return this; }
    /** The CSV options as they stand (flags refine the scenario's). */
    public org.cloister.data.CsvOptions currentCsv() { return csv; }

    public SimulationConfig build() {
      int min = minSitesPerRound != null ? minSitesPerRound : Math.max(1, Math.min(sites, (sites * 2 + 2) / 3));
      return new SimulationConfig(studyId, dataset, labelColumn, sites, partition, rounds, localEpochs, localSteps,
          batchSize, learningRate, model, strategy, testFraction, seed, roundDeadline, min,
          currentDp(), outDir, preprocessing, countPrivate, csv);
    }
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
    m.put("local_steps", localSteps);
    m.put("batch_size", batchSize);
    m.put("learning_rate", learningRate);
    m.put("model", model);
    m.put("strategy", strategy);
    m.put("test_fraction", testFraction);
    m.put("seed", seed);
    m.put("round_deadline_s", roundDeadline.toSeconds());
    m.put("min_sites_per_round", minSitesPerRound);
    m.put("dp", dp.describe());
    m.put("preprocessing", preprocessing == null ? "dataset default" : "declared (" + preprocessing.rules().size() + " features)");
    m.put("count_private", countPrivate);
    if (!csv.equals(org.cloister.data.CsvOptions.DEFAULT)) {
      m.put("csv", csv.describe());
    }
    return m;
  }
}

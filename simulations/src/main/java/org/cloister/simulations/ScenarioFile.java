package org.cloister.simulations;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * A scenario file ({@code SCENARIO.yaml}) as bound by Jackson: every key a component, unknown keys,
 * wrong types and keys given without a value (refused before binding) are errors naming the key path ({@link ScenarioLoader}).
 * An absent key takes the {@code simulate} default; the documented schema is docs/schemas/scenario.md
 * (checked against these records by {@code ScenarioSchemaDocTest}).
 */
public record ScenarioFile(
    @JsonProperty("study_id") String studyId,
    @JsonProperty("dataset") String dataset,
    @JsonProperty("label") String label,
    @JsonProperty("outcome") String outcome,
    @JsonProperty("sites") Integer sites,
    @JsonProperty("partition") String partition,
    @JsonProperty("rounds") Integer rounds,
    @JsonProperty("local_epochs") Integer localEpochs,
    @JsonProperty("local_steps") Integer localSteps,
    @JsonProperty("batch_size") Integer batchSize,
    @JsonProperty("learning_rate") Double learningRate,
    @JsonProperty("model") String model,
    @JsonProperty("strategy") String strategy,
    @JsonProperty("min_sites") Integer minSites,
    @JsonProperty("round_deadline_s") Double roundDeadlineSeconds,
    @JsonProperty("seed") Integer seed,
    @JsonProperty("test_fraction") Double testFraction,
    @JsonProperty("dp") Dp dp,
    @JsonProperty("preprocessing") Map<String, Object> preprocessing,
    @JsonProperty("count_private") Boolean countPrivate,
    @JsonProperty("csv") Csv csv) {

  /**
   * The {@code csv:} block: how a {@code csv:PATH} dataset is read (docs/simulations.md, "Messy CSV files").
   * Rules are {@code fail}, {@code skip}, {@code centre} or {@code constant:VALUE} ({@link org.cloister.data.MissingRule}).
   */
  public record Csv(
      @JsonProperty("delimiter") String delimiter,
      @JsonProperty("ignore_columns") java.util.List<String> ignoreColumns,
      @JsonProperty("missing_values") java.util.List<String> missingValues,
      @JsonProperty("missing") String missing,
      @JsonProperty("missing_by_column") Map<String, String> missingByColumn) {
  }

  /**
   * The {@code dp:} block. {@code enabled} must be a YAML boolean (a quoted "true", 1 or an empty
   * value is an error, never "off"); a block with none of the keys is an error.
   */
  public record Dp(
      @JsonProperty("enabled") Boolean enabled,
      @JsonProperty("epsilon") Double epsilon,
      @JsonProperty("delta") Double delta,
      @JsonProperty("noise_multiplier") Double noiseMultiplier,
      @JsonProperty("clip") Double clip,
      @JsonProperty("sampling_rate") Double samplingRate) {
  }
}

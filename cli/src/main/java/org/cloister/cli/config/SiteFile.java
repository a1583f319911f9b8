package org.cloister.cli.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code site.yaml} as bound by {@link org.cloister.simulations.config.StrictYaml} (errors name the
 * file and the key path); docs/schemas/site.md documents it. Privacy settings have no defaults: the
 * site's own {@code budget} (epsilon and delta), the study's class labels and its preprocessing rule
 * are required.
 */
public record SiteFile(
    @JsonProperty(value = "coordinator", required = true) String coordinator,
    @JsonProperty(value = "tls", required = true) TlsSection tls,
    @JsonProperty(value = "data", required = true) Data data,
    @JsonProperty(value = "budget", required = true) Budget budget,
    @JsonProperty(value = "state_dir", required = true) String stateDir,
    @JsonProperty("metrics") String metrics,
    @JsonProperty("give_up_after_s") Double giveUpAfterSeconds,
    @JsonProperty(value = "study_id", required = true) String studyId,
    @JsonProperty("seed") Integer seed,
    @JsonProperty("enclave") Enclave enclave,
    @JsonProperty("count_private") Boolean countPrivate,
    @JsonProperty("evaluation") Evaluation evaluation) {

  /** This site's held-out split for federated evaluation (absent: the site does not evaluate). */
  public record Evaluation(
      @JsonProperty(value = "holdout_fraction", required = true) Double holdoutFraction,
      @JsonProperty("split_key") String splitKey) {
  }

  /** The site's local data and the study's rules for reading it. */
  public record Data(
      @JsonProperty(value = "csv", required = true) String csv,
      @JsonProperty(value = "label", required = true) String label,
      @JsonProperty("bad_rows") String badRows,
      @JsonProperty("dataset") String dataset,
      @JsonProperty(value = "classes", required = true) List<Object> classes,
      @JsonProperty(value = "preprocessing", required = true) Object preprocessing) {
  }

  /** This site's own privacy ceiling, across studies on the same dataset. */
  public record Budget(
      @JsonProperty(value = "epsilon", required = true) Double epsilon,
      @JsonProperty(value = "delta", required = true) Double delta) {
  }

  /** The secure aggregator this site encrypts its updates to (paths relative to the file). */
  public record Enclave(
      @JsonProperty("expected_pcrs") String expectedPcrs,
      @JsonProperty("attestation_root") String attestationRoot,
      @JsonProperty(value = "sealing_key", required = true) String sealingKey,
      @JsonProperty("expected_measurements") String expectedMeasurements,
      @JsonProperty("collateral_dir") String collateralDir) {
  }
}

package org.cloister.cli.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * {@code coordinator.yaml} as bound by {@link org.cloister.simulations.config.StrictYaml}: unknown keys,
 * wrong types, keys without a value, empty blocks and missing required keys are errors naming the
 * file and the key path. docs/schemas/coordinator.md documents it ({@code ConfigSchemaDocTest} checks
 * it against these records). Privacy settings have no defaults: {@code privacy} with its epsilon and
 * delta, and {@code study.dp} (DP-SGD's noise multiplier and clip, or {@code enabled: false}) are required.
 */
public record CoordinatorFile(
    @JsonProperty("listen") String listen,
    @JsonProperty(value = "tls", required = true) TlsSection tls,
    @JsonProperty("database") String database,
    @JsonProperty("metrics") String metrics,
    @JsonProperty(value = "sites", required = true) List<String> sites,
    @JsonProperty(value = "study", required = true) Study study,
    @JsonProperty("linger_s") Double lingerSeconds,
    @JsonProperty(value = "privacy", required = true) Privacy privacy,
    @JsonProperty("aggregation") Aggregation aggregation,
    @JsonProperty("admin") Admin admin) {

  /** The study this coordinator runs. */
  public record Study(
      @JsonProperty(value = "id", required = true) String id,
      @JsonProperty("model") String model,
      @JsonProperty(value = "features", required = true) Integer features,
      @JsonProperty(value = "classes", required = true) Integer classes,
      @JsonProperty("rounds") Integer rounds,
      @JsonProperty("min_sites") Integer minSites,
      @JsonProperty("max_sites") Integer maxSites,
      @JsonProperty("round_deadline_s") Double roundDeadlineSeconds,
      @JsonProperty("join_timeout_s") Double joinTimeoutSeconds,
      @JsonProperty("max_round_attempts") Integer maxRoundAttempts,
      @JsonProperty("local_epochs") Integer localEpochs,
      @JsonProperty("local_steps") Integer localSteps,
      @JsonProperty("batch_size") Integer batchSize,
      @JsonProperty("learning_rate") Double learningRate,
      @JsonProperty("seed") Integer seed,
      @JsonProperty(value = "dp", required = true) Dp dp,
      @JsonProperty("strategy") String strategy,
      @JsonProperty("evaluation") Evaluation evaluation) {
  }

  /**
   * Federated evaluation on each site's held-out split (absent: none). Only {@code enabled: false}, alone, turns it
   * off explicitly; otherwise {@code noise_multiplier} is required (the sites' releases have no noise default).
   */
  public record Evaluation(
      @JsonProperty("enabled") Boolean enabled,
      @JsonProperty("noise_multiplier") Double noiseMultiplier,
      @JsonProperty("bins") Integer bins) {
  }

  /**
   * DP-SGD at every site. Only the YAML boolean {@code enabled: false} (alone) makes the study
   * non-private; otherwise {@code noise_multiplier} and {@code clip} are required.
   */
  public record Dp(
      @JsonProperty("enabled") Boolean enabled,
      @JsonProperty("noise_multiplier") Double noiseMultiplier,
      @JsonProperty("clip") Double clip,
      @JsonProperty("sampling_rate") Double samplingRate,
      @JsonProperty("count_private") Boolean countPrivate) {
  }

  /** Each site's ceiling: a default for every site and per-site overrides (sites on the roster only). */
  public record Privacy(
      @JsonProperty(value = "epsilon", required = true) Double epsilon,
      @JsonProperty(value = "delta", required = true) Double delta,
      @JsonProperty("sites") Map<String, SiteCeiling> sites) {
  }

  /** One site's override; a key not given is the default ceiling's. */
  public record SiteCeiling(
      @JsonProperty("epsilon") Double epsilon,
      @JsonProperty("delta") Double delta) {
  }

  /** The secure aggregator enclave and key broker on this host (paths relative to the file). */
  public record Aggregation(
      @JsonProperty("enclave_image") String enclaveImage,
      @JsonProperty("enclave_config") String enclaveConfig,
      @JsonProperty(value = "aggregation_policy", required = true) String aggregationPolicy,
      @JsonProperty("expected_pcrs") String expectedPcrs,
      @JsonProperty(value = "platform", required = true) String platform,
      @JsonProperty("attestation_root") String attestationRoot,
      @JsonProperty("attestation_root_key") String attestationRootKey,
      @JsonProperty("key_broker") String keyBroker,
      @JsonProperty("key_broker_audit_log") String keyBrokerAuditLog,
      @JsonProperty("key_broker_address") String keyBrokerAddress,
      @JsonProperty(value = "sealed_models", required = true) String sealedModels,
      @JsonProperty("enclave") String enclave,
      @JsonProperty("expected_measurements") String expectedMeasurements,
      @JsonProperty("collateral_dir") String collateralDir) {
  }

  /** Who may use the operator API (certificate common names). */
  public record Admin(@JsonProperty(value = "operators", required = true) List<String> operators) {
  }
}

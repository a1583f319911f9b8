package org.cloister.cli.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code CONSORTIUM.yaml} as bound by {@link org.cloister.simulations.config.StrictYaml} (errors name
 * the file and the key path); docs/schemas/consortium.md documents it. Central DP, when asked for,
 * has every privacy setting explicit (only its denominator defaults, to the number of sites).
 */
public record ConsortiumFile(
    @JsonProperty(value = "consortium", required = true) String consortium,
    @JsonProperty("coordinator") Coordinator coordinator,
    @JsonProperty(value = "sites", required = true) List<String> sites,
    @JsonProperty("validity_days") Integer validityDays,
    @JsonProperty("study") Study study,
    @JsonProperty("observers") List<String> observers,
    @JsonProperty("key_broker") KeyBroker keyBroker) {

  /** Where the sites reach the coordinator. */
  public record Coordinator(@JsonProperty("host") String host, @JsonProperty("port") Integer port) {
  }

  /** What the consortium fixes in the enclave's aggregation policy. */
  public record Study(
      @JsonProperty("id") String id,
      @JsonProperty("model") String model,
      @JsonProperty("features") Integer features,
      @JsonProperty("classes") Integer classes,
      @JsonProperty("min_sites") Integer minSites,
      @JsonProperty("strategy") String strategy,
      @JsonProperty("max_update_norm") Double maxUpdateNorm,
      @JsonProperty("cohort_floor") Integer cohortFloor,
      @JsonProperty("central_dp") CentralDp centralDp,
      @JsonProperty("preprocessing") Object preprocessing,
      @JsonProperty("class_names") List<String> classNames) {
  }

  /** Site-level central DP in the enclave. */
  public record CentralDp(
      @JsonProperty(value = "epsilon", required = true) Double epsilon,
      @JsonProperty(value = "delta", required = true) Double delta,
      @JsonProperty(value = "rounds", required = true) Integer rounds,
      @JsonProperty(value = "clip_norm", required = true) Double clipNorm,
      @JsonProperty("denominator") Double denominator) {
  }

  /** The party that runs the key broker, and where. */
  public record KeyBroker(
      @JsonProperty(value = "host", required = true) String host,
      @JsonProperty(value = "address", required = true) String address) {
  }
}

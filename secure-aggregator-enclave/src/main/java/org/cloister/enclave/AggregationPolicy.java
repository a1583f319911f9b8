package org.cloister.enclave;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Locale;
import java.util.Objects;
import org.cloister.enclave.runtime.MeasuredJson;

/**
 * The study's aggregation policy, measured into PCR2: what the enclave accepts and how it combines
 * updates. Sites and the key broker pin PCR2, so a host cannot loosen the norm bound, the minimum
 * number of updates per published model or the central noise without the change being visible.
 *
 * @param format                  {@value #FORMAT}
 * @param studyId                 the only study this enclave aggregates
 * @param modelName               informational, bound into every artifact
 * @param dimension               number of parameters of every update and model
 * @param maxUpdateL2Norm         updates with a larger L2 norm are rejected (the bound the study's DP
 *                                policy implies: e.g. DP-SGD's clip norm times learning rate times steps)
 * @param minUpdates              no model is published from fewer valid updates (at least 1)
 * @param cohortFloor             k: no model is published from fewer than k distinct authenticated
 *                                training sites (observers never count); at least
 *                                {@value #MIN_COHORT_FLOOR}, {@value #DEFAULT_COHORT_FLOOR} unless the
 *                                consortium chose otherwise (docs/trust.md)
 * @param centralNoiseMultiplier  z &gt;= 0: Gaussian noise of standard deviation
 *                                z * maxUpdateL2Norm * max(weight) / sum(weights) on the mean update
 *                                (site-level DP-FedAvg); 0 = none
 * @param serverOptimizer         the server step applied to the mean update
 */
public record AggregationPolicy(
    @JsonProperty("format") String format,
    @JsonProperty("study_id") String studyId,
    @JsonProperty("model_name") String modelName,
    @JsonProperty("dimension") int dimension,
    @JsonProperty("max_update_l2_norm") double maxUpdateL2Norm,
    @JsonProperty("min_updates") int minUpdates,
    @JsonProperty("cohort_floor") int cohortFloor,
    @JsonProperty("central_noise_multiplier") double centralNoiseMultiplier,
    @JsonProperty("server_optimizer") ServerOptimizerSpec serverOptimizer) {

  public static final String FORMAT = "cloister-aggregation-policy/v2";
  /** The cohort floor a consortium gets unless it chooses a larger one. */
  public static final int DEFAULT_COHORT_FLOOR = 3;
  /** The smallest cohort floor the enclave accepts (one site alone would publish its own update). */
  public static final int MIN_COHORT_FLOOR = 2;

  /**
   * @param name         {@code fedavg}, {@code fedadam} or {@code fedyogi} (Reddi et al. 2021)
   * @param learningRate server learning rate (1.0 with fedavg = plain federated averaging)
   * @param beta1        first-moment decay (adaptive optimizers)
   * @param beta2        second-moment decay (adaptive optimizers)
   * @param tau          adaptivity (adaptive optimizers)
   */
  public record ServerOptimizerSpec(
      @JsonProperty("name") String name,
      @JsonProperty("learning_rate") double learningRate,
      @JsonProperty("beta1") double beta1,
      @JsonProperty("beta2") double beta2,
      @JsonProperty("tau") double tau) {

    public ServerOptimizerSpec {
      Objects.requireNonNull(name, "server_optimizer.name");
      name = name.toLowerCase(Locale.ROOT);
      if (!name.equals("fedavg") && !name.equals("fedadam") && !name.equals("fedyogi")) {
        throw new IllegalArgumentException("server_optimizer.name must be fedavg, fedadam or fedyogi, got '" + name + "'");
      }
      requirePositive("server_optimizer.learning_rate", learningRate);
      if (!name.equals("fedavg")) {
        if (!(beta1 >= 0 && beta1 < 1)) {
          throw new IllegalArgumentException("server_optimizer.beta1 must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
          throw new IllegalArgumentException("server_optimizer.beta2 must be in [0, 1), got " + beta2);
        }
        requirePositive("server_optimizer.tau", tau);
      }
    }

    public static ServerOptimizerSpec fedAvg() {
      return new ServerOptimizerSpec("fedavg", 1.0, 0, 0, 0);
    }
  }

  public AggregationPolicy {
    if (!FORMAT.equals(format)) {
      throw new IllegalArgumentException("policy format must be '" + FORMAT + "', got '" + format + "'");
    }
    if (studyId == null || studyId.isBlank()) {
      throw new IllegalArgumentException("policy study_id is missing");
    }
    Objects.requireNonNull(modelName, "model_name");
    if (dimension < 1) {
      throw new IllegalArgumentException("policy dimension must be >= 1, got " + dimension);
    }
    requirePositive("max_update_l2_norm", maxUpdateL2Norm);
    if (minUpdates < 1) {
      throw new IllegalArgumentException("min_updates must be >= 1, got " + minUpdates);
    }
    if (cohortFloor < MIN_COHORT_FLOOR) {
      throw new IllegalArgumentException("cohort_floor must be >= " + MIN_COHORT_FLOOR + " (distinct authenticated "
          + "training sites per published model), got " + cohortFloor + (cohortFloor == 0 ? " (missing?)" : ""));
    }
    if (!(centralNoiseMultiplier >= 0) || !Double.isFinite(centralNoiseMultiplier)) {
      throw new IllegalArgumentException("central_noise_multiplier must be >= 0, got " + centralNoiseMultiplier);
    }
    Objects.requireNonNull(serverOptimizer, "server_optimizer");
  }

  /** Distinct authenticated training sites a published model needs: max(min_updates, cohort_floor). */
  public int publishFloor() {
    return Math.max(minUpdates, cohortFloor);
  }

  private static void requirePositive(String field, double v) {
    if (!(v > 0) || !Double.isFinite(v)) {
      throw new IllegalArgumentException(field + " must be a positive finite number, got " + v);
    }
  }

  /** Parses policy bytes (JSON); unknown fields are errors. */
  public static AggregationPolicy parse(byte[] json) {
    return MeasuredJson.parse(json, AggregationPolicy.class, "aggregation policy");
  }

  /** The canonical JSON of this policy (what a consortium writes and measures). */
  public byte[] toJson() {
    return MeasuredJson.write(this);
  }
}

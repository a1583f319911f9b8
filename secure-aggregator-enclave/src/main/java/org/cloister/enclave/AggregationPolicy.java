package org.cloister.enclave;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Objects;
import org.cloister.aggregation.strategy.AggregationRules;
import org.cloister.aggregation.strategy.StrategySpec;
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
 * @param centralDp               site-level central DP in the enclave ({@link CentralDp}), or null for none
 * @param strategy                the study's strategy ({@link StrategySpec}, every parameter explicit): how
 *                                the round's updates are combined and the global model stepped
 *                                ({@link AggregationRule}); a rule that needs every update of a round
 *                                (median, trimmed mean) keeps at most {@link #ROBUST_BUFFER_BYTES} of
 *                                them in enclave memory and cannot be combined with central DP
 */
public record AggregationPolicy(
    @JsonProperty("format") String format,
    @JsonProperty("study_id") String studyId,
    @JsonProperty("model_name") String modelName,
    @JsonProperty("dimension") int dimension,
    @JsonProperty("max_update_l2_norm") double maxUpdateL2Norm,
    @JsonProperty("min_updates") int minUpdates,
    @JsonProperty("cohort_floor") int cohortFloor,
    @JsonProperty("central_dp") CentralDp centralDp,
    @JsonProperty("strategy") StrategySpec strategy) {

  public static final String FORMAT = "cloister-aggregation-policy/v3";
  /** Plain federated averaging, every parameter explicit. */
  public static final StrategySpec FEDAVG = new StrategySpec("fedavg", java.util.Map.of("server_lr", 1.0));
  /** The most memory a robust rule's per-round buffer of decrypted updates may take in the enclave. */
  public static final long ROBUST_BUFFER_BYTES = 256L << 20;
  /** The cohort floor a consortium gets unless it chooses a larger one. */
  public static final int DEFAULT_COHORT_FLOOR = 3;
  /** The smallest cohort floor the enclave accepts (one site alone would publish its own update). */
  public static final int MIN_COHORT_FLOOR = 2;

  /**
   * Site-level central DP (DP-FedAvg with a fixed denominator, McMahan et al. 2018): every accepted
   * update is clipped in the enclave to L2 norm {@code clipNorm}, the clipped updates are summed with
   * equal weights (the sites' example counts are ignored), Gaussian noise of standard deviation
   * {@code noiseMultiplier * clipNorm} is added to the sum and the result divided by the public
   * {@code denominator}. Adding or removing one site moves the sum by at most {@code clipNorm}, so
   * each release is the Gaussian mechanism with noise multiplier z at the site level, whoever took
   * part; the enclave publishes at most {@code maxReleases} noised models.
   *
   * @param clipNorm        S: the L2 norm every site's update is clipped to in the enclave
   * @param noiseMultiplier z &gt; 0: the noise standard deviation on the sum is z * S
   * @param denominator     public divisor of the noised sum (e.g. the number of training sites)
   * @param maxReleases     the number of noised models the site-level budget was calibrated for
   * @param delta           the delta at which the consortium states the site-level epsilon
   */
  public record CentralDp(
      @JsonProperty("clip_norm") double clipNorm,
      @JsonProperty("noise_multiplier") double noiseMultiplier,
      @JsonProperty("denominator") double denominator,
      @JsonProperty("max_releases") int maxReleases,
      @JsonProperty("delta") double delta) {

    public CentralDp {
      requirePositive("central_dp.clip_norm", clipNorm);
      requirePositive("central_dp.noise_multiplier", noiseMultiplier);
      if (!(denominator >= 1) || !Double.isFinite(denominator)) {
        throw new IllegalArgumentException("central_dp.denominator must be a finite number >= 1, got " + denominator);
      }
      if (maxReleases < 1) {
        throw new IllegalArgumentException("central_dp.max_releases must be >= 1, got " + maxReleases);
      }
      if (!(delta > 0 && delta < 1)) {
        throw new IllegalArgumentException("central_dp.delta must be in (0, 1), got " + delta);
      }
    }

    /** Standard deviation of the noise on each released mean update: z * S / denominator. */
    public double meanNoiseStddev() {
      return noiseMultiplier * clipNorm / denominator;
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
    Objects.requireNonNull(strategy, "strategy");
    AggregationRules.installed().requireExplicit(strategy);
    // the parameter, not combiner(): a compact constructor has not assigned the fields yet
    if (AggregationRules.installed().rule(strategy.name()).combiner(strategy).isPresent()) {
      if (centralDp != null) {
        throw new IllegalArgumentException("strategy " + strategy.name() + " combines the round's updates robustly; "
            + "central_dp's noise is calibrated to a sum of clipped updates, so the two cannot be combined");
      }
      if (robustCapacity(dimension) < Math.max(minUpdates, cohortFloor)) {
        throw new IllegalArgumentException("strategy " + strategy.name() + " keeps the round's updates in enclave memory: "
            + "at dimension " + dimension + " only " + robustCapacity(dimension) + " fit in " + (ROBUST_BUFFER_BYTES >> 20)
            + " MiB, fewer than the " + Math.max(minUpdates, cohortFloor) + " a published model needs");
      }
    }
  }

  /** How many updates of {@code dimension} parameters a robust rule may keep per round. */
  public static int robustCapacity(int dimension) {
    return (int) Math.min(Integer.MAX_VALUE, ROBUST_BUFFER_BYTES / ((long) dimension * Float.BYTES));
  }

  /**
   * The strategy's robust combination of the round's updates (median, trimmed mean), which keeps them in enclave
   * memory; empty for a strategy that sums them.
   */
  public java.util.Optional<org.cloister.aggregation.strategy.UpdateCombiner> combiner() {
    return AggregationRules.installed().rule(strategy.name()).combiner(strategy);
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

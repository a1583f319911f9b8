package org.cloister.aggregation.strategy;

import java.util.Map;
import java.util.Optional;

/**
 * The enclave's half of a strategy (SPI, found with {@link java.util.ServiceLoader}): how the valid
 * updates of a round become the next global model. It runs where updates are seen in plaintext
 * (the secure aggregator enclave, or the development aggregator), so an implementation must keep
 * what it derives from updates in memory only and never log values.
 *
 * <p>A round has two steps: <em>combine</em> the round's updates into one delta, then <em>step</em>
 * the global model with it. The default combination is the example-weighted mean, which the enclave
 * computes as a streaming sum in O(dimension) memory. A rule that needs every update of a round
 * (a robust statistic such as the coordinate-wise median) returns an {@link UpdateCombiner}; the
 * enclave then keeps the round's valid updates in a buffer of bounded size.
 *
 * <p>To add one: implement this interface and {@code org.cloister.coordinator.strategy.SitePlanner}
 * under the same name, list them in {@code META-INF/services}, and put the jar in the enclave image
 * (its code is then part of the measurement). See docs/extending.md.
 */
public interface AggregationRule {

  /** The strategy name this rule interprets ({@link StrategySpec#name()}). */
  String name();

  /**
   * Every parameter the rule takes, with the default {@link AggregationRules#resolve} fills in when
   * a configuration omits it; the first is the one a bare value sets ({@code fedprox:0.1}). A spec
   * naming any other parameter is refused. Use a {@link java.util.LinkedHashMap} (order matters).
   */
  Map<String, Double> defaults();

  /**
   * Checks a resolved spec's values.
   *
   * @throws IllegalArgumentException naming the parameter and the value that is wrong
   */
  void check(StrategySpec spec);

  /** The robust combination, or empty for the example-weighted mean (streamed). */
  default Optional<UpdateCombiner> combiner(StrategySpec spec) {
    return Optional.empty();
  }

  /** The server step of a study with {@code dimension} parameters; it may keep state across rounds. */
  ServerStep serverStep(StrategySpec spec, int dimension);
}

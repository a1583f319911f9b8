package org.cloister.aggregation.strategy;

import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A federated strategy as one value: its name and its numeric parameters. The same value is read by
 * the coordinator's {@code SitePlanner} (which sites, what training configuration) and by the
 * enclave's {@link AggregationRule} (how the round's updates become the next model); it is part of
 * the measured aggregation policy, so sites and the key broker pin it.
 *
 * <p>Text form: {@code name} or {@code name:key=value,key=value} (e.g. {@code fedadam:server_lr=0.05});
 * {@link #toString()} gives the canonical text (parameters sorted by key). Parameters are kept sorted,
 * so equal specs have equal JSON.
 *
 * @param name       lower-case name, {@code [a-z0-9_-]+}
 * @param parameters finite values by parameter name
 */
public record StrategySpec(String name, Map<String, Double> parameters) {

  public StrategySpec {
    Objects.requireNonNull(name, "strategy name");
    if (!name.matches("[a-z0-9_-]+")) {
      throw new IllegalArgumentException("strategy name '" + name + "' must be lower-case letters, digits, '_' or '-'");
    }
    SortedMap<String, Double> sorted = new TreeMap<>();
    if (parameters != null) {
      parameters.forEach((k, v) -> {
        if (k == null || !k.matches("[a-z0-9_]+")) {
          throw new IllegalArgumentException("strategy " + name + ": parameter name '" + k + "' must be [a-z0-9_]+");
        }
        if (v == null || !Double.isFinite(v)) {
          throw new IllegalArgumentException("strategy " + name + ": parameter " + k + " must be a finite number, got " + v);
        }
        sorted.put(k, v);
      });
    }
    parameters = Collections.unmodifiableSortedMap(sorted);
  }

  /** A spec with no parameters. */
  public static StrategySpec of(String name) {
    return new StrategySpec(name, Map.of());
  }

  /**
   * Parses {@code name}, {@code name:key=value,...}, or {@code name:value} (a bare value, which
   * {@link AggregationRules#resolve} gives to the rule's first parameter, e.g. {@code fedprox:0.1}
   * sets {@code mu}; it is kept here under the key {@value #POSITIONAL}).
   *
   * @throws IllegalArgumentException naming the part that does not parse
   */
  public static StrategySpec parse(String text) {
    Objects.requireNonNull(text, "strategy");
    String t = text.strip().toLowerCase(Locale.ROOT);
    int colon = t.indexOf(':');
    if (colon < 0) {
      return of(t);
    }
    String name = t.substring(0, colon);
    String args = t.substring(colon + 1);
    Map<String, Double> params = new TreeMap<>();
    if (args.isEmpty()) {
      throw new IllegalArgumentException("strategy '" + text + "': nothing after ':'");
    }
    for (String part : args.split(",", -1)) {
      int eq = part.indexOf('=');
      String key = eq < 0 ? POSITIONAL : part.substring(0, eq).strip();
      String value = eq < 0 ? part.strip() : part.substring(eq + 1).strip();
      if (eq < 0 && args.contains(",")) {
        throw new IllegalArgumentException("strategy '" + text + "': '" + part + "' is not key=value");
      }
      double v;
      try {
        v = Double.parseDouble(value);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("strategy '" + text + "': " + (eq < 0 ? "value" : key) + " '" + value
            + "' is not a number");
      }
      if (params.put(key, v) != null) {
        throw new IllegalArgumentException("strategy '" + text + "': parameter " + key + " given twice");
      }
    }
    return new StrategySpec(name, params);
  }

  /** The key under which {@link #parse} keeps a bare value ({@code fedprox:0.1}). */
  public static final String POSITIONAL = "_";

  /** The value of parameter {@code key}; it must be present (a resolved spec has every parameter). */
  public double get(String key) {
    Double v = parameters.get(key);
    if (v == null) {
      throw new IllegalArgumentException("strategy " + name + " has no parameter " + key);
    }
    return v;
  }

  /** The canonical text form: {@code name} or {@code name:k=v,...} with keys sorted. */
  @Override
  public String toString() {
    if (parameters.isEmpty()) {
      return name;
    }
    StringBuilder b = new StringBuilder(name).append(':');
    String sep = "";
    for (Map.Entry<String, Double> e : parameters.entrySet()) {
      b.append(sep).append(e.getKey()).append('=').append(format(e.getValue()));
      sep = ",";
    }
    return b.toString();
  }

  private static String format(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }
}

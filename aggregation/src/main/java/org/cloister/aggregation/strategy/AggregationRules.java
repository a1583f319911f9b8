package org.cloister.aggregation.strategy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;

/** The installed {@link AggregationRule}s by name, and the resolution of a spec against them. */
public final class AggregationRules {
  private final Map<String, AggregationRule> rules;

  /** @throws IllegalArgumentException when two rules claim one name */
  public AggregationRules(Iterable<? extends AggregationRule> rules) {
    Map<String, AggregationRule> m = new TreeMap<>();
    for (AggregationRule r : rules) {
      AggregationRule prev = m.put(r.name(), r);
      if (prev != null) {
        throw new IllegalArgumentException("two aggregation rules are named '" + r.name() + "': "
            + prev.getClass().getName() + " and " + r.getClass().getName());
      }
    }
    this.rules = Map.copyOf(m);
  }

  /** The rules registered with {@link ServiceLoader} on {@code loader}'s class path (the built-ins and any plug-in). */
  public static AggregationRules load(ClassLoader loader) {
    return new AggregationRules(ServiceLoader.load(AggregationRule.class, loader));
  }

  /** The rules visible to this class's loader. */
  public static AggregationRules installed() {
    return load(AggregationRules.class.getClassLoader());
  }

  public Set<String> names() {
    return new java.util.TreeSet<>(rules.keySet());
  }

  /** @throws IllegalArgumentException naming the unknown strategy and the known ones */
  public AggregationRule rule(String name) {
    AggregationRule r = rules.get(name);
    if (r == null) {
      throw new IllegalArgumentException("unknown strategy '" + name + "' (available: " + String.join(", ", names()) + ")");
    }
    return r;
  }

  /**
   * The spec with every parameter explicit: a bare value goes to the rule's first parameter, omitted
   * parameters take the rule's defaults, unknown parameters are refused, and the values are checked.
   */
  public StrategySpec resolve(StrategySpec spec) {
    AggregationRule rule = rule(spec.name());
    Map<String, Double> defaults = rule.defaults();
    Map<String, Double> given = new LinkedHashMap<>(spec.parameters());
    Double positional = given.remove(StrategySpec.POSITIONAL);
    if (positional != null) {
      if (defaults.isEmpty()) {
        throw new IllegalArgumentException("strategy " + spec.name() + " takes no parameter, got " + spec);
      }
      String first = defaults.keySet().iterator().next();
      if (given.containsKey(first)) {
        throw new IllegalArgumentException("strategy " + spec.name() + ": " + first + " given twice");
      }
      given.put(first, positional);
    }
    for (String k : given.keySet()) {
      if (!defaults.containsKey(k)) {
        throw new IllegalArgumentException("strategy " + spec.name() + " has no parameter '" + k + "' (parameters: "
            + String.join(", ", defaults.keySet()) + ")");
      }
    }
    Map<String, Double> all = new TreeMap<>(defaults);
    all.putAll(given);
    StrategySpec resolved = new StrategySpec(spec.name(), all);
    rule.check(resolved);
    return resolved;
  }

  /**
   * Checks that {@code spec} is already resolved (every parameter explicit, values valid): what the
   * enclave requires of its measured policy, so no value there is an unmeasured default.
   */
  public StrategySpec requireExplicit(StrategySpec spec) {
    StrategySpec resolved = resolve(spec);
    if (!resolved.equals(spec)) {
      throw new IllegalArgumentException("strategy " + spec + " must give every parameter explicitly: " + resolved);
    }
    return spec;
  }

  /** The names of the built-in rules, in the order docs list them. */
  public static final List<String> BUILT_IN = List.of("fedavg", "fedprox", "fedadam", "fedyogi", "median", "trimmed_mean");
}

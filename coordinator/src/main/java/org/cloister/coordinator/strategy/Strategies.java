package org.cloister.coordinator.strategy;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import org.cloister.aggregation.strategy.AggregationRules;
import org.cloister.aggregation.strategy.StrategySpec;

/**
 * Strategies by spec: each is a {@link SitePlanner} and an {@code AggregationRule} registered under
 * one name. Built in: {@code fedavg}, {@code fedprox} ({@code fedprox:MU} or {@code fedprox:mu=MU}),
 * {@code fedadam}, {@code fedyogi}, {@code median}, {@code trimmed_mean}; parameters as
 * {@code name:key=value,...} (docs/extending.md lists them and their defaults).
 */
public final class Strategies {
  private final AggregationRules rules;
  private final Map<String, SitePlanner> planners;

  /** @throws IllegalArgumentException when two planners claim one name */
  public Strategies(AggregationRules rules, Iterable<? extends SitePlanner> planners) {
    this.rules = rules;
    Map<String, SitePlanner> m = new TreeMap<>();
    for (SitePlanner p : planners) {
      for (String n : p.names()) {
        SitePlanner prev = m.put(n, p);
        if (prev != null) {
          throw new IllegalArgumentException("two site planners serve strategy '" + n + "': "
              + prev.getClass().getName() + " and " + p.getClass().getName());
        }
      }
    }
    this.planners = Map.copyOf(m);
  }

  /** The planners and rules registered with {@link ServiceLoader} on this class's loader (built-ins and plug-ins). */
  public static Strategies installed() {
    ClassLoader loader = Strategies.class.getClassLoader();
    return new Strategies(AggregationRules.load(loader), ServiceLoader.load(SitePlanner.class, loader));
  }

  /** The installed strategy for {@code text} ({@code name[:key=value,...]}). */
  public static Strategy parse(String text) {
    return installed().strategy(StrategySpec.parse(text));
  }

  /**
   * The strategy for {@code spec}, with every parameter made explicit.
   *
   * @throws IllegalArgumentException naming the unknown strategy, parameter or bad value, or a
   *                                  strategy with an aggregation rule but no planner
   */
  public Strategy strategy(StrategySpec spec) {
    StrategySpec resolved = rules.resolve(spec);
    SitePlanner planner = planners.get(resolved.name());
    if (planner == null) {
      throw new IllegalArgumentException("strategy '" + resolved.name() + "' has an aggregation rule but no "
          + "SitePlanner is registered for it");
    }
    return new Planned(resolved, planner);
  }

  /** The strategy's name without its parameters: {@code fedprox:0.1} gives {@code fedprox}. */
  public static String baseName(String spec) {
    return StrategySpec.parse(spec).name();
  }

  private record Planned(StrategySpec spec, SitePlanner planner) implements Strategy {
    @Override
    public RoundPlan configureRound(RoundContext context) {
      return planner.configureRound(spec, context);
    }
  }
}

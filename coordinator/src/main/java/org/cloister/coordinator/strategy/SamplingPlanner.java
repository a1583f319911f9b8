package org.cloister.coordinator.strategy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.cloister.aggregation.strategy.StrategySpec;

/**
 * The selection of federated averaging (McMahan et al. 2017), used by every built-in strategy
 * whose difference lies in aggregation (FedAvg, FedAdam, FedYogi, median, trimmed mean): all
 * eligible sites, or a seeded random sample of {@code maxSites} of them; the round's training seed
 * is derived from the study's.
 */
public final class SamplingPlanner implements SitePlanner {

  @Override
  public Set<String> names() {
    return Set.of("fedavg", "fedadam", "fedyogi", "median", "trimmed_mean");
  }

  @Override
  public RoundPlan configureRound(StrategySpec spec, RoundContext context) {
    return sample(context);
  }

  /** FedAvg's plan: the sorted eligible sites (or a seeded sample of {@code maxSites}), the base config with a per-round seed. */
  public static RoundPlan sample(RoundContext ctx) {
    List<String> sites = new ArrayList<>(ctx.eligibleSites());
    Collections.sort(sites);
    if (ctx.maxSites() > 0 && sites.size() > ctx.maxSites()) {
      Collections.shuffle(sites, new Random(ctx.seed() * 31 + ctx.round() * 7919L + ctx.attempt()));
      sites = new ArrayList<>(sites.subList(0, ctx.maxSites()));
      Collections.sort(sites);
    }
    return new RoundPlan(sites, ctx.baseConfig().toBuilder()
        .setSeed(ctx.baseConfig().getSeed() * 1_000_003L + ctx.round())
        .build());
  }
}

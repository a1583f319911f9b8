package org.cloister.coordinator.strategy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Federated averaging (McMahan et al. 2017): each round asks all eligible sites, or a seeded
 * random sample of {@code maxSites} of them, to train from the current global model; the
 * aggregator then takes the example-weighted mean of their updates.
 */
public final class FedAvgStrategy implements Strategy {

  @Override
  public String name() {
    return "fedavg";
  }

  @Override
  public RoundPlan configureRound(RoundContext ctx) {
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

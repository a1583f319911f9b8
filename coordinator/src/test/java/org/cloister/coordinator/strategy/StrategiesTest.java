package org.cloister.coordinator.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.cloister.aggregation.strategy.AggregationRules;
import org.cloister.aggregation.strategy.StrategySpec;
import org.cloister.protocol.v1.TrainingConfig;
import org.junit.jupiter.api.Test;

class StrategiesTest {
  private static final RoundContext CTX = new RoundContext(3, 1, 10, List.of("site-b", "site-a", "site-c"), 2, 0,
      TrainingConfig.newBuilder().setLearningRate(0.1).setSeed(7).build(), 42);

  @Test
  void fedProxAsksTheSitesForTheProximalTermAndSelectsAsFedAvg() {
    RoundPlan avg = Strategies.parse("fedavg").configureRound(CTX);
    RoundPlan prox = Strategies.parse("fedprox:0.25").configureRound(CTX);
    assertThat(prox.sites()).isEqualTo(avg.sites()).containsExactly("site-a", "site-b", "site-c");
    assertThat(prox.config().getProximalMu()).isEqualTo(0.25);
    assertThat(avg.config().getProximalMu()).isZero();
    assertThat(prox.config().toBuilder().setProximalMu(0).build()).isEqualTo(avg.config());
    assertThat(Strategies.parse("fedprox").configureRound(CTX).config().getProximalMu()).isEqualTo(0.01);
    assertThat(Strategies.parse("fedprox:mu=0.5").spec()).isEqualTo(new StrategySpec("fedprox", Map.of("mu", 0.5, "server_lr", 1.0)));
  }

  @Test
  void aStrategyIsNamedAfterItsSpec() {
    // was: Strategies.parse("fedadam").name() returned "fedavg"
    for (String name : AggregationRules.BUILT_IN) {
      Strategy s = Strategies.parse(name);
      assertThat(s.name()).isEqualTo(name);
      assertThat(s.spec()).isEqualTo(AggregationRules.installed().resolve(StrategySpec.of(name)));
    }
    assertThat(Strategies.parse("fedadam:server_lr=0.05").spec().get("server_lr")).isEqualTo(0.05);
    assertThat(new FedAvgStrategy().spec()).isEqualTo(Strategies.parse("fedavg").spec());
  }

  @Test
  void serverSideStrategiesSelectAsFedAvg() {
    for (String name : List.of("fedadam", "fedyogi", "median", "trimmed_mean")) {
      assertThat(Strategies.parse(name).configureRound(CTX)).isEqualTo(Strategies.parse("fedavg").configureRound(CTX));
    }
    assertThat(Strategies.baseName("fedprox:0.1")).isEqualTo("fedprox");
  }

  @Test
  void badNamesAndCoefficientsAreNamed() {
    assertThatThrownBy(() -> Strategies.parse("fedsgd")).hasMessageContaining("unknown strategy 'fedsgd'")
        .hasMessageContaining("fedprox");
    assertThatThrownBy(() -> Strategies.parse("fedprox:abc")).hasMessageContaining("'abc' is not a number");
    assertThatThrownBy(() -> Strategies.parse("fedprox:-1")).hasMessageContaining("mu must be > 0");
    assertThatThrownBy(() -> Strategies.parse("fedavg:mu=1")).hasMessageContaining("no parameter 'mu'");
  }

  @Test
  void aRuleWithoutAPlannerIsRefused() {
    Strategies onlyProx = new Strategies(AggregationRules.installed(), List.of(new FedProxPlanner()));
    assertThatThrownBy(() -> onlyProx.strategy(StrategySpec.of("median")))
        .hasMessageContaining("strategy 'median' has an aggregation rule but no SitePlanner");
    assertThatThrownBy(() -> new Strategies(AggregationRules.installed(), List.of(new FedProxPlanner(), new FedProxPlanner())))
        .hasMessageContaining("two site planners serve strategy 'fedprox'");
    assertThat(new SamplingPlanner().names()).isEqualTo(Set.of("fedavg", "fedadam", "fedyogi", "median", "trimmed_mean"));
  }
}

package org.cloister.coordinator.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
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
    assertThat(Strategies.parse("fedprox").configureRound(CTX).config().getProximalMu())
        .isEqualTo(FedProxStrategy.DEFAULT_MU);
  }

  @Test
  void serverOptimizerStrategiesSelectAsFedAvg() {
    assertThat(Strategies.parse("fedadam").configureRound(CTX)).isEqualTo(Strategies.parse("fedavg").configureRound(CTX));
    assertThat(Strategies.baseName("fedprox:0.1")).isEqualTo("fedprox");
  }

  @Test
  void badNamesAndCoefficientsAreNamed() {
    assertThatThrownBy(() -> Strategies.parse("fedsgd")).hasMessageContaining("unknown strategy 'fedsgd'")
        .hasMessageContaining("fedprox[:MU]");
    assertThatThrownBy(() -> Strategies.parse("fedprox:abc")).hasMessageContaining("mu 'abc' is not a number");
    assertThatThrownBy(() -> Strategies.parse("fedprox:-1")).hasMessageContaining("mu must be > 0");
    assertThatThrownBy(() -> Strategies.parse("fedavg:1")).hasMessageContaining("takes no argument");
  }
}

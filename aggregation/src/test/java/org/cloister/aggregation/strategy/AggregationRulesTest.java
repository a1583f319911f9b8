package org.cloister.aggregation.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import org.junit.jupiter.api.Test;

class AggregationRulesTest {
  private final AggregationRules rules = AggregationRules.installed();

  private ServerStep step(String spec) {
    StrategySpec s = rules.resolve(StrategySpec.parse(spec));
    return rules.rule(s.name()).serverStep(s, 2);
  }

  /**
   * Reddi et al. 2021, Algorithm 2, by hand with lr = 1, beta1 = 0.5, beta2 = 0.75, tau = 0.5
   * (v starts at tau^2 = 0.25), x0 = (1, -2), deltas (0.5, -1) then (1.5, 0).
   * Coordinate 0: m1 = 0.25, v1 = 0.75*0.25 + 0.25*0.25 = 0.25, x1 = 1 + 0.25/(0.5+0.5) = 1.25;
   * m2 = 0.125 + 0.75 = 0.875, v2 = 0.1875 + 0.25*2.25 = 0.75, x2 = 1.25 + 0.875/(sqrt(0.75)+0.5).
   * Coordinate 1: m1 = -0.5, v1 = 0.1875 + 0.25 = 0.4375, x1 = -2 - 0.5/(sqrt(0.4375)+0.5);
   * m2 = -0.25, v2 = 0.75*0.4375 = 0.328125, x2 = x1 - 0.25/(sqrt(0.328125)+0.5).
   */
  @Test
  void fedAdamMatchesHandComputedSteps() {
    ServerStep adam = step("fedadam:server_lr=1,beta1=0.5,beta2=0.75,tau=0.5");
    float[] x1 = adam.step(new float[] {1f, -2f}, new float[] {0.5f, -1f});
    assertThat(x1[0]).isEqualTo(1.25f);
    assertThat((double) x1[1]).isCloseTo(-2.4305008740430605, within(1e-6));
    float[] x2 = adam.step(x1, new float[] {1.5f, 0f});
    assertThat((double) x2[0]).isCloseTo(1.8905444566227678, within(1e-6));
    assertThat((double) x2[1]).isCloseTo(-2.6635311520253966, within(1e-6));
  }

  /**
   * Same numbers with Yogi's v = v - (1-beta2) d^2 sign(v - d^2). Coordinate 0: v1 = 0.25 (sign 0),
   * x1 = 1.25; v2 = 0.25 + 0.25*2.25 = 0.8125, x2 = 1.25 + 0.875/(sqrt(0.8125)+0.5).
   * Coordinate 1: v1 = 0.25 + 0.25 = 0.5, x1 = -2 - 0.5/(1/sqrt 2 + 0.5) = -1 - sqrt 2;
   * d = 0 leaves v2 = 0.5, x2 = x1 - 0.25/(1/sqrt 2 + 0.5) = -0.5 - 1.5 sqrt 2.
   */
  @Test
  void fedYogiMatchesHandComputedSteps() {
    ServerStep yogi = step("fedyogi:server_lr=1,beta1=0.5,beta2=0.75,tau=0.5");
    float[] x1 = yogi.step(new float[] {1f, -2f}, new float[] {0.5f, -1f});
    assertThat(x1[0]).isEqualTo(1.25f);
    assertThat((double) x1[1]).isCloseTo(-1 - Math.sqrt(2), within(1e-6));
    float[] x2 = yogi.step(x1, new float[] {1.5f, 0f});
    assertThat((double) x2[0]).isCloseTo(1.874381051569329, within(1e-6));
    assertThat((double) x2[1]).isCloseTo(-0.5 - 1.5 * Math.sqrt(2), within(1e-6));
  }

  @Test
  void fedAvgScalesByTheServerLearningRate() {
    assertThat(step("fedavg:server_lr=0.5").step(new float[] {1f, -2f}, new float[] {0.5f, 0.1f}))
        .containsExactly(1.25f, -1.95f);
  }

  @Test
  void medianAndTrimmedMeanIgnoreOutliers() {
    float[][] updates = {{1f, 10f}, {2f, 20f}, {3f, 30f}, {4f, 40f}, {1000f, -1e6f}};
    StrategySpec median = rules.resolve(StrategySpec.of("median"));
    assertThat(rules.rule("median").combiner(median).orElseThrow().combine(updates, 5, 2)).containsExactly(3f, 20f);
    assertThat(rules.rule("median").combiner(median).orElseThrow().combine(updates, 4, 2)).containsExactly(2.5f, 25f);
    StrategySpec trimmed = rules.resolve(StrategySpec.parse("trimmed_mean:trim=0.2"));
    // floor(0.2 * 5) = 1 dropped at each end: coordinate 0 keeps 2, 3, 4; coordinate 1 keeps 10, 20, 30
    assertThat(rules.rule("trimmed_mean").combiner(trimmed).orElseThrow().combine(updates, 5, 2))
        .containsExactly(3f, 20f);
    assertThat(rules.rule("fedavg").combiner(rules.resolve(StrategySpec.of("fedavg")))).isEmpty();
  }

  @Test
  void resolvingMakesEveryParameterExplicit() {
    assertThat(rules.resolve(StrategySpec.parse("fedprox:0.25")))
        .isEqualTo(new StrategySpec("fedprox", Map.of("mu", 0.25, "server_lr", 1.0)));
    assertThat(rules.resolve(StrategySpec.parse("fedadam")).toString())
        .isEqualTo("fedadam:beta1=0.9,beta2=0.99,server_lr=0.1,tau=0.001");
    StrategySpec explicit = rules.resolve(StrategySpec.parse("fedyogi"));
    assertThat(StrategySpec.parse(explicit.toString())).isEqualTo(explicit);
    assertThat(rules.requireExplicit(explicit)).isEqualTo(explicit);
    assertThatThrownBy(() -> rules.requireExplicit(StrategySpec.of("fedadam")))
        .hasMessageContaining("must give every parameter explicitly");
  }

  @Test
  void badSpecsAreNamed() {
    assertThatThrownBy(() -> rules.resolve(StrategySpec.of("fedsgd"))).hasMessageContaining("unknown strategy 'fedsgd'")
        .hasMessageContaining("trimmed_mean");
    assertThatThrownBy(() -> StrategySpec.parse("fedprox:abc")).hasMessageContaining("value 'abc' is not a number");
    assertThatThrownBy(() -> rules.resolve(StrategySpec.parse("fedprox:-1"))).hasMessageContaining("mu must be > 0");
    assertThatThrownBy(() -> rules.resolve(StrategySpec.parse("fedadam:beta1=1"))).hasMessageContaining("beta1 must be in [0, 1)");
    assertThatThrownBy(() -> rules.resolve(StrategySpec.parse("fedavg:lr=1"))).hasMessageContaining("no parameter 'lr'");
    assertThatThrownBy(() -> rules.resolve(StrategySpec.parse("trimmed_mean:trim=0.5"))).hasMessageContaining("trim must be in [0, 0.5)");
    assertThatThrownBy(() -> StrategySpec.parse("fedadam:tau=nan")).hasMessageContaining("tau 'nan' is not a number");
    assertThatThrownBy(() -> new StrategySpec("fedadam", Map.of("tau", Double.POSITIVE_INFINITY)))
        .hasMessageContaining("tau must be a finite number");
  }
}

package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ScenarioLoaderTest {
  private final ScenarioLoader loader = new ScenarioLoader();

  @Test
  void shippedDemoScenarioLoads() {
    SimulationConfig c = loader.loadBuiltin("demo").build();
    assertThat(c.studyId()).isEqualTo("demo-wdbc");
    assertThat(c.sites()).isEqualTo(3);
    assertThat(c.rounds()).isEqualTo(10);
    assertThat(c.minSitesPerRound()).isEqualTo(2);
    assertThat(c.dp().enabled()).isTrue();
    assertThat(c.dp().epsilon()).isEqualTo(3.0);
    assertThat(c.dp().delta()).isEqualTo(1e-5);
    assertThat(loader.loadBuiltin("baseline").build().dp().enabled()).isFalse();
  }

  @Test
  void valuesAndDpBlockAreRead() {
    SimulationConfig c = loader.load("""
        sites: 5
        partition: dirichlet:0.5
        round_deadline_s: 2.5
        dp:
          epsilon: 1
          delta: 1.0e-5
          clip: 0.5
        """, "t.yaml").build();
    assertThat(c.sites()).isEqualTo(5);
    assertThat(c.roundDeadline().toMillis()).isEqualTo(2500);
    assertThat(c.dp().enabled()).isTrue();
    assertThat(c.dp().epsilon()).isEqualTo(1.0);
    assertThat(c.dp().clipNorm()).isEqualTo(0.5);
    assertThat(c.dp().noiseMultiplier()).isNaN();
  }

  @Test
  void errorsNameTheKey() {
    assertThatThrownBy(() -> loader.load("sitez: 3\n", "s.yaml")).hasMessageContaining("s.yaml: unknown key 'sitez'");
    assertThatThrownBy(() -> loader.load("sites: three\n", "s.yaml")).hasMessageContaining("'sites' must be a whole number");
    assertThatThrownBy(() -> loader.load("dp: {epsilon: 1, noise_multiplier: 1, delta: 1e-5}\n", "s.yaml").build())
        .hasMessageContaining("exactly one of --epsilon or --noise-multiplier");
    assertThatThrownBy(() -> loader.load("dp: {epsilon: 1, delta: 2}\n", "s.yaml").build())
        .hasMessageContaining("--delta must be in (0, 1)");
    assertThatThrownBy(() -> loader.load("dp: {eps: 1}\n", "s.yaml")).hasMessageContaining("unknown key 'dp.eps'");
    assertThatThrownBy(() -> loader.load("[1, 2]\n", "s.yaml")).hasMessageContaining("mapping");
    assertThatThrownBy(() -> loader.load("strategy: fedsgd\n", "s.yaml").build())
        .hasMessageContaining("unknown strategy 'fedsgd' (available: fedadam, fedavg, fedprox, fedyogi, median, trimmed_mean)");
    assertThat(loader.load("strategy: fedyogi\n", "s.yaml").build().strategy()).isEqualTo("fedyogi");
    assertThat(loader.load("strategy: fedprox:0.1\n", "s.yaml").build().strategy()).isEqualTo("fedprox:0.1");
    assertThatThrownBy(() -> loader.load("strategy: fedprox:0\n", "s.yaml").build()).hasMessageContaining("mu must be > 0");
    assertThat(SecureAggregationStack.strategySpec("fedadam").get("beta2")).isEqualTo(0.99);
    assertThatThrownBy(() -> loader.load("a: [\n", "s.yaml")).hasMessageContaining("not valid YAML");
  }

  /** The typed binding (ScenarioFile): no coercion, no empty values, duplicate keys refused, each naming the key path. */
  @Test
  void theBindingIsStrict() {
    assertThatThrownBy(() -> loader.load("sites: 2.5\n", "s.yaml")).hasMessageContaining("s.yaml: 'sites' must be a whole number");
    assertThatThrownBy(() -> loader.load("sites: \"3\"\n", "s.yaml")).hasMessageContaining("'sites' must be a whole number");
    assertThatThrownBy(() -> loader.load("count_private: \"true\"\n", "s.yaml"))
        .hasMessageContaining("'count_private' must be true or false");
    assertThatThrownBy(() -> loader.load("study_id:\n", "s.yaml")).hasMessageContaining("s.yaml: 'study_id' has no value");
    assertThatThrownBy(() -> loader.load("dp: {epsilon: }\n", "s.yaml")).hasMessageContaining("'dp.epsilon' has no value");
    assertThatThrownBy(() -> loader.load("dp: {epsilon: \"1\"}\n", "s.yaml")).hasMessageContaining("'dp.epsilon' must be a number");
    assertThatThrownBy(() -> loader.load("sites: 3\nsites: 4\n", "s.yaml")).hasMessageContaining("sites");
    assertThatThrownBy(() -> loader.load("dp: [1]\n", "s.yaml")).hasMessageContaining("'dp' must be a mapping");
  }

  /** A privacy switch that is not a plain boolean must never turn DP off (it used to, silently). */
  @Test
  void dpSwitchFailsClosed() {
    assertThatThrownBy(() -> loader.load("dp: {enabled: \"true\", epsilon: 1}\n", "s.yaml"))
        .hasMessageContaining("s.yaml: 'dp.enabled' must be true or false");
    assertThatThrownBy(() -> loader.load("dp: {enabled: 1, epsilon: 1}\n", "s.yaml"))
        .hasMessageContaining("'dp.enabled' must be true or false");
    assertThatThrownBy(() -> loader.load("dp: {enabled: , epsilon: 1}\n", "s.yaml"))
        .hasMessageContaining("'dp.enabled' has no value");
    assertThatThrownBy(() -> loader.load("dp:\n", "s.yaml")).hasMessageContaining("'dp' is empty");
    assertThatThrownBy(() -> loader.load("dp: {}\n", "s.yaml")).hasMessageContaining("'dp' is empty");
    assertThat(loader.load("dp: {enabled: false}\n", "s.yaml").build().dp().enabled()).isFalse();
    assertThat(loader.load("dp: {enabled: false}\n", "s.yaml").dpGiven()).isTrue();
    assertThat(loader.load("sites: 3\n", "s.yaml").dpGiven()).isFalse();
    assertThatThrownBy(() -> loader.load("dp: {enabled: false, epsilon: 1}\n", "s.yaml"))
        .hasMessageContaining("'dp.enabled' is false but 'dp.epsilon' is set");
  }
}

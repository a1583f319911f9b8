package org.cloister.examples.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.cloister.aggregation.strategy.AggregationRules;
import org.cloister.aggregation.strategy.ServerStep;
import org.cloister.aggregation.strategy.StrategySpec;
import org.cloister.coordinator.strategy.RoundContext;
import org.cloister.coordinator.strategy.RoundPlan;
import org.cloister.coordinator.strategy.Strategies;
import org.cloister.coordinator.strategy.Strategy;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.aggregation.AggregationSession;
import org.cloister.enclave.aggregation.UpdateKernel;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.junit.jupiter.api.Test;

/** The worked example of docs/extending.md ("Add a strategy"), found only through ServiceLoader. */
class CustomStrategyTest {

  @Test
  void theCoordinatorFindsThePlannerByName() {
    Strategy s = Strategies.parse("fedavgm:momentum=0.5,lr_decay=0.5");
    assertThat(s.name()).isEqualTo("fedavgm");
    assertThat(s.spec().toString()).isEqualTo("fedavgm:lr_decay=0.5,momentum=0.5,server_lr=1");
    RoundContext round3 = new RoundContext(3, 1, 10, List.of("b", "a"), 2, 0,
        TrainingConfig.newBuilder().setLearningRate(0.2).setSeed(1).build(), 9);
    RoundPlan plan = s.configureRound(round3);
    assertThat(plan.sites()).containsExactly("a", "b");
    assertThat(plan.config().getLearningRate()).isCloseTo(0.05, within(1e-12)); // 0.2 * 0.5^2
    assertThatThrownBy(() -> Strategies.parse("fedavgm:momentum=1")).hasMessageContaining("momentum must be in [0, 1)");
  }

  /** b1 = d1 = 1, x1 = 0 + 1 = 1; b2 = 0.5 * 1 + 2 = 2.5, x2 = 1 + 2.5 = 3.5. */
  @Test
  void theServerMomentumMatchesHandComputedSteps() {
    StrategySpec spec = AggregationRules.installed().resolve(StrategySpec.parse("fedavgm:0.5"));
    ServerStep step = AggregationRules.installed().rule("fedavgm").serverStep(spec, 1);
    float[] x1 = step.step(new float[] {0f}, new float[] {1f});
    assertThat(x1).containsExactly(1f);
    assertThat(step.step(x1, new float[] {2f})).containsExactly(3.5f);
  }

  /** The enclave accepts the plug-in in its measured policy and runs it over sealed updates. */
  @Test
  void theEnclaveAggregatesWithThePlugIn() throws Exception {
    StrategySpec spec = Strategies.parse("fedavgm:momentum=0.5").spec();
    int dim = 3;
    AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, "study", "m", dim, 10, 1, 2, null, spec);
    assertThat(AggregationPolicy.parse(policy.toJson()).strategy()).isEqualTo(spec);

    Hpke hpke = new Hpke();
    HpkeKeyPair key = hpke.generateKeyPair();
    AggregationSession.RoundContext round = new AggregationSession.RoundContext("study", 1, "r1", 0);
    AggregationSession session = new AggregationSession(policy, Set.of("s1", "s2"), key, new Hpke(),
        UpdateKernel.best(), round, new AggregationSession.ReplayGuard() {
          private final Set<String> seen = new java.util.HashSet<>();

          @Override
          public boolean record(String roundId, String siteId) {
            return seen.add(roundId + siteId);
          }

          @Override
          public boolean seen(String roundId, String siteId) {
            return seen.contains(roundId + siteId);
          }
        });
    float[][] deltas = {{1f, 0f, 2f}, {3f, 0f, -2f}};
    for (int k = 0; k < 2; k++) {
      String site = "s" + (k + 1);
      byte[] sealed = hpke.sealStream(key.publicKey(), AggregationSession.UPDATE_INFO,
          AggregationSession.aad(round, site, dim), FloatCodec.encode(deltas[k]));
      session.offer(site, 1, 0, AggregationSession.UPDATE_FORMAT, sealed, 0, sealed.length);
    }
    float[] mean = session.meanUpdate(null);
    assertThat(mean).containsExactly(2f, 0f, 0f);
    ServerStep step = AggregationRules.installed().rule(spec.name()).serverStep(spec, dim);
    float[] next = step.step(new float[dim], mean);
    assertThat(Arrays.toString(next)).isEqualTo("[2.0, 0.0, 0.0]");
  }
}

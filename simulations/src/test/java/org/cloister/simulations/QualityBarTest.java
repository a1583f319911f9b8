package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7's quality bar on real data: WDBC over three hospitals with a Dirichlet(0.5) split, a
 * budget of epsilon 1 at delta 1e-5 per site, through the enclave: test accuracy at least 0.93 on
 * the nine-seed mean (central non-private logistic regression: about 0.97). The shipped scenario at
 * its seed here; all nine seeds run in {@code QualityBarSlowTest} (-Pslow).
 */
class QualityBarTest {

  @Test
  void shippedScenarioReachesTheBarWithinEveryBudget(@TempDir Path out) throws Exception {
    SimulationConfig cfg = new ScenarioLoader().loadBuiltin("wdbc-dirichlet-eps1").outDir(out).build();
    assertThat(cfg.partition()).isEqualTo("dirichlet:0.5");
    assertThat(cfg.dp().epsilon()).isEqualTo(1.0);
    assertThat(cfg.dp().delta()).isEqualTo(1e-5);
    SimulationResult r = new FederatedSimulation(cfg, x -> { }).run();
    assertThat(r.status()).startsWith("finished");
    assertThat(r.sites()).allSatisfy(s -> assertThat(s.epsilon()).isLessThanOrEqualTo(1.0));
    // public bounds (log scale for the skewed features) instead of statistics pooled over all
    // patients (issue 12): 0.929 at this seed (AUC 0.990), one test patient short of 0.93; linear
    // bounds gave 0.885 / 0.979, pooled standardization 0.974 (docs/benchmarks.md). The bar of 0.93
    // is held on the nine-seed mean (QualityBarSlowTest); here one patient of margin below it.
    assertThat(r.finalMetrics().accuracy()).isGreaterThanOrEqualTo(0.92);
    assertThat(r.finalMetrics().auc()).isGreaterThanOrEqualTo(0.98);
  }
}

package org.cloister.simulations.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.cloister.data.BuiltinDatasets;
import org.cloister.data.Dataset;
import org.cloister.data.Standardizer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Gradient-canary audits of the real DP-SGD trainer (WDBC, logistic regression). */
class GradientCanaryAuditTest {
  static final Dataset WDBC = standardised();

  static Dataset standardised() {
    Dataset d = BuiltinDatasets.wdbc();
    return Standardizer.fit(d).apply(d);
  }

  /** The CLI's defaults: m = 1000, C = 1, q = 0.1, T = 100, delta = 1e-5, beta = 0.05. */
  static AuditSettings defaults(double s, double assumed, long seed) {
    return new AuditSettings("logreg", 1000, s, assumed, 1.0, 0.1, 100, 1e-5, 0.05, 0.1, seed);
  }

  @Test
  void equalNoiseIsConsistent() {
    AuditOutcome o = new GradientCanaryAudit(defaults(1.0, 1.0, 1)).run(WDBC, d -> { });
    assertThat(o.verdict()).isEqualTo(AuditOutcome.CONSISTENT);
    assertThat(o.result().epsilonLowerBound()).isPositive().isLessThan(o.epsilonUpperBound());
    assertThat(o.result().canaries()).isEqualTo(1000);
  }

  @Test
  void tenTimesLessNoiseThanAccountedIsAViolation() {
    // the trainer runs sigma 0.3, the accountant is told 3
    AuditOutcome o = new GradientCanaryAudit(defaults(0.3, 3.0, 1)).run(WDBC, d -> { });
    assertThat(o.verdict()).isEqualTo(AuditOutcome.VIOLATION);
    assertThat(o.result().epsilonLowerBound()).isGreaterThan(o.epsilonUpperBound());
    assertThat(o.result().auroc()).isGreaterThan(0.9);
  }

  @Test
  void smallSeedSweepOfACorrectTrainerNeverViolates() {
    // 4 seeds at a small size; with beta = 0.05 even one violation would be suspicious
    int violations = sweep(4, 200, 50);
    assertThat(violations).isZero();
  }

  @Tag("slow")
  @Test
  void seedSweepOfACorrectTrainerViolatesAtMostBeta() {
    int seeds = 40;
    int violations = sweep(seeds, 1000, 100);
    // at most beta * seeds plus 3 binomial standard deviations
    assertThat(violations).isLessThanOrEqualTo((int) (0.05 * seeds + 3 * Math.sqrt(seeds * 0.05 * 0.95)));
  }

  private static int sweep(int seeds, int m, int steps) {
    int violations = 0;
    for (long seed = 100; seed < 100 + seeds; seed++) {
      AuditSettings s = new AuditSettings("logreg", m, 1.0, 1.0, 1.0, 0.1, steps, 1e-5, 0.05, 0.1, seed);
      AuditOutcome o = new GradientCanaryAudit(s).run(WDBC, d -> { });
      violations += o.verdict().equals(AuditOutcome.VIOLATION) ? 1 : 0;
    }
    return violations;
  }

  @Test
  void progressIsReportedUpToTheLastStep() {
    java.util.List<Integer> seen = new java.util.ArrayList<>();
    AuditSettings s = new AuditSettings("mlp", 64, 1.0, 1.0, 1.0, 0.1, 25, 1e-5, 0.05, 0.1, 3);
    AuditOutcome o = new GradientCanaryAudit(s).run(WDBC, seen::add);
    assertThat(seen).containsExactly(10, 20, 25);
    assertThat(o.scores()).hasSize(64);
  }

  @Test
  void settingsFailClosedWithTheNameOfTheSetting() {
    assertThatThrownBy(() -> new AuditSettings("cnn", 10, 1, 1, 1, 0.1, 10, 1e-5, 0.05, 0.1, 1))
        .hasMessageContaining("logreg or mlp");
    assertThatThrownBy(() -> new AuditSettings("logreg", 10, 1, 0, 1, 0.1, 10, 1e-5, 0.05, 0.1, 1))
        .hasMessageContaining("assumed noise multiplier");
    assertThatThrownBy(() -> new AuditSettings("logreg", 10, 1, 1, 1, 0.1, 10, 0, 0.05, 0.1, 1))
        .hasMessageContaining("delta");
  }
}

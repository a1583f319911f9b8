package org.cloister.simulations.audit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Input-space (black-box) canaries through the real DP-SGD trainer. */
class InputCanaryAuditTest {
  @Test
  void equalNoiseIsConsistent() {
    AuditSettings s = new AuditSettings("mlp", 400, 1.0, 1.0, 1.0, 0.1, 60, 1e-5, 0.05, 0.1, 2);
    AuditOutcome o = new InputCanaryAudit(s).run(GradientCanaryAuditTest.WDBC, d -> { });
    assertThat(o.kind()).isEqualTo("input");
    assertThat(o.verdict()).isEqualTo(AuditOutcome.CONSISTENT);
    assertThat(o.result().canaries()).isEqualTo(400);
    assertThat(o.result().epsilonLowerBound()).isLessThanOrEqualTo(o.epsilonUpperBound());
  }
}

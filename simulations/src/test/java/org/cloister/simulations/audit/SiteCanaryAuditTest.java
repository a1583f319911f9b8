package org.cloister.simulations.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SiteCanaryAuditTest {

  private static SiteCanaryAudit.Outcome run(double z, double assumed, long seed) {
    return new SiteCanaryAudit(new SiteCanaryAudit.Settings(1000, 10, 1000, 5, z, assumed, 1.0, 1e-5, 0.05, seed))
        .run(t -> { });
  }

  @Test
  void equalNoiseThroughTheEnclavesCentralDpIsConsistent() {
    SiteCanaryAudit.Outcome o = run(1.0, 1.0, 1);
    System.out.printf("sites z=1: lower %.3f upper %.3f estimate %.3f rounds %s%n", o.result().epsilonLowerBound(),
        o.epsilonUpperBound(), o.epsilonEstimate(), java.util.Arrays.toString(o.roundEstimates()));
    assertThat(o.verdict()).isEqualTo(AuditOutcome.CONSISTENT);
    assertThat(o.result().epsilonLowerBound()).isLessThanOrEqualTo(o.epsilonUpperBound());
    // the canaries are seen: the study estimate is positive, and each round's estimate is below the study's
    assertThat(o.epsilonEstimate()).isGreaterThan(0.5).isLessThan(o.epsilonUpperBound());
    assertThat(o.roundEstimates()).hasSize(5);
    for (double e : o.roundEstimates()) {
      assertThat(e).isLessThan(o.epsilonEstimate());
    }
  }

  @Test
  void muchLessNoiseThanTheAccountantIsToldIsAViolation() {
    SiteCanaryAudit.Outcome o = run(0.2, 10.0, 2);
    System.out.printf("sites z=0.2/10: lower %.3f upper %.3f estimate %.3f%n", o.result().epsilonLowerBound(),
        o.epsilonUpperBound(), o.epsilonEstimate());
    assertThat(o.verdict()).isEqualTo(AuditOutcome.VIOLATION);
    assertThat(o.result().epsilonLowerBound()).isGreaterThan(o.epsilonUpperBound());
  }

  @Test
  void withoutCentralDpTheSiteLevelIsNotProtectedNotConsistent() {
    SiteCanaryAudit.Outcome o = run(0, 0, 3);
    System.out.printf("sites no DP: lower %.3f estimate %.3f%n", o.result().epsilonLowerBound(), o.epsilonEstimate());
    assertThat(o.verdict()).isEqualTo(SiteCanaryAudit.NOT_PROTECTED);
    assertThat(o.epsilonUpperBound()).isInfinite();
    assertThat(o.result().epsilonLowerBound()).isGreaterThan(2);
  }

  @Test
  void gaussianEpsilonMatchesTheAnalyticGaussianMechanism() {
    // independent reference: delta(eps) of mu-GDP at the returned eps equals the target delta
    double mu = 1.0;
    double eps = SiteCanaryAudit.gaussianEpsilon(mu, 1e-5);
    org.apache.commons.math3.distribution.NormalDistribution n =
        new org.apache.commons.math3.distribution.NormalDistribution(null, 0, 1);
    double d = n.cumulativeProbability(-eps / mu + mu / 2) - Math.exp(eps) * n.cumulativeProbability(-eps / mu - mu / 2);
    assertThat(d).isCloseTo(1e-5, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(SiteCanaryAudit.gaussianEpsilon(0, 1e-5)).isZero();
    assertThat(SiteCanaryAudit.gaussianEpsilon(2, 1e-5)).isGreaterThan(eps);
  }

  @Test
  void badSettingsAreRefusedByName() {
    assertThatThrownBy(() -> new SiteCanaryAudit.Settings(1, 0, 10, 1, 1, 1, 1, 1e-5, 0.05, 0))
        .hasMessageContaining("canary sites");
    assertThatThrownBy(() -> new SiteCanaryAudit.Settings(10, 0, 10, 1, -1, 1, 1, 1e-5, 0.05, 0))
        .hasMessageContaining("noise multiplier");
  }
}

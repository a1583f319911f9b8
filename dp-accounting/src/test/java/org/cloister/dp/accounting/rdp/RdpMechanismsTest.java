package org.cloister.dp.accounting.rdp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RdpMechanismsTest {

  /**
   * log A_alpha of the sampled Gaussian mechanism against an independent multi-precision
   * numerical integration of its defining integral (mpmath 1.3.0 quad at 50 digits,
   * src/test/python/rdp_reference.py). The (q, sigma, alpha) grid is the one of Google
   * dp_accounting's rdp_privacy_accountant_test.test_compute_log_a_equals_mp, which accepts
   * rtol 1e-4 / atol 1e-8; we hold a much tighter tolerance, covering q down to 1e-7 and sigma
   * down to 0.1, integer and fractional orders.
   */
  @ParameterizedTest(name = "q={0} sigma={1} alpha={2}")
  @CsvSource({
      "1e-7, 0.1, 1.01, 4.0034123225263985848e-8",
      "1e-6, 0.1, 256, 3260463.2292971607834",
      "1e-5, 0.1, 256.1, 3263607.0397884213428",
      "1e-6, 1, 27, 8.7695113048484978803e-10",
      "1e-4, 1, 1.5, 6.4426869538366497255e-9",
      "1e-3, 1, 2, 1.7182803522145153698e-6",
      "0.01, 10, 20, 0.00019129699912842962637",
      "0.1, 100, 20.5, 0.0001999181845806829614",
      "0.99, 0.1, 256, 3263997.4271140211413",
      "0.999, 100, 256.1, 3.2601080379731126889",
      "0.01, 0.7, 4.4, 0.015487929224048051615",
      "0.5, 5, 1.1, 0.00055328423062320349389",
      "0.04, 1.5, 3.9, 0.0053162863787931897766",
  })
  void logAMatchesMultiPrecisionIntegration(double q, double sigma, double alpha, double expected) {
    double logA = RdpMechanisms.logA(q, sigma, alpha);
    // relative 1e-9 or absolute 1e-13 (the series stops at terms below e^-30 ~ 9e-14 in A)
    assertThat(logA).isCloseTo(expected, within(Math.max(Math.abs(expected) * 1e-9, 1e-13)));
  }

  @Test
  void integerAndFractionalFormulasAgreeNearIntegers() {
    // The two code paths must meet: alpha = 3 (binomial sum) vs 3 +- 1e-9 (two-part series).
    for (double[] p : new double[][] {{0.01, 1.0}, {0.2, 0.8}, {1e-5, 0.5}, {0.9, 3.0}}) {
      double exact = RdpMechanisms.logA(p[0], p[1], 3);
      assertThat(RdpMechanisms.logAFractional(p[0], p[1], 3 + 1e-9)).isCloseTo(exact, within(Math.abs(exact) * 1e-6 + 1e-13));
      assertThat(RdpMechanisms.logAFractional(p[0], p[1], 3 - 1e-9)).isCloseTo(exact, within(Math.abs(exact) * 1e-6 + 1e-13));
    }
  }

  @Test
  void gaussianWithoutSamplingIsAlphaOverTwoSigmaSquared() {
    // Mironov 2017, Proposition 7; the numbers are dp_accounting's test_compute_rdp_gaussian.
    assertThat(RdpMechanisms.subsampledGaussian(1.0, 2.71828, 3.14159))
        .isCloseTo(3.14159 / (2 * 2.71828 * 2.71828), within(1e-15));
    assertThat(RdpMechanisms.subsampledGaussian(0.0, 1.0, 3.0)).isZero();
    assertThat(RdpMechanisms.subsampledGaussian(0.5, 0.0, 3.0)).isInfinite();
  }

  @Test
  void laplaceMatchesPureDpAtHighOrderAndKlBoundAtLowOrder() {
    // Mironov 2017 Table II: D_inf = 1/b; and D_alpha -> KL = 1/b + exp(-1/b) - 1 as alpha -> 1.
    double b = 2.0;
    assertThat(RdpMechanisms.laplace(b, 1e6)).isCloseTo(0.5, within(1e-5));
    assertThat(RdpMechanisms.laplace(b, 1 + 1e-6)).isCloseTo(0.5 + Math.exp(-0.5) - 1, within(1e-6));
    assertThat(RdpMechanisms.laplace(b, 2)).isLessThan(RdpMechanisms.laplace(b, 3));
  }
}

package org.cloister.dp.accounting.rdp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.cloister.dp.accounting.UnsupportedEventException;
import org.cloister.dp.events.ComposedEvent;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.LaplaceEvent;
import org.cloister.dp.events.NoOpEvent;
import org.cloister.dp.events.NonPrivateEvent;
import org.cloister.dp.events.PoissonSampledEvent;
import org.cloister.dp.events.SampledWithoutReplacementEvent;
import org.cloister.dp.events.SelfComposedEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RdpAccountantTest {

  /** TF Privacy compute_dp_sgd_privacy_lib's orders (used by its published test values). */
  private static final double[] TFP_ORDERS = tfpOrders();

  private static DpEvent dpSgd(double q, double sigma, long steps) {
    return new SelfComposedEvent(new PoissonSampledEvent(q, new GaussianEvent(sigma)), steps);
  }

  @Test
  void opacusRdpAccountantTest() {
    // opacus/tests/accountants_test.py test_rdp_accountant: sigma 1.5, q 0.04, int(90/0.04)=2250
    // steps, delta 1e-5 -> epsilon 7.32911117143 (assertAlmostEqual, 7 places); order 3.9.
    RdpGuarantee g = new RdpAccountant().compose(dpSgd(0.04, 1.5, 2250)).epsilonAndOrder(1e-5);
    assertThat(g.epsilon()).isCloseTo(7.32911117143, within(1e-7));
    assertThat(g.optimalOrder()).isEqualTo(3.9);
  }

  @Test
  void tensorflowPrivacyMnistTutorial() {
    // TF Privacy MNIST tutorial: q = 256/60000, sigma 1.1, 60 epochs = ceil(60*60000/256) = 14063
    // steps, delta 1e-5. Improved conversion: 2.5967; the tutorial's published "3.01" came from
    // the classical conversion eps = rdp + log(1/delta)/(alpha-1) (Mironov 2017, Prop. 3).
    RdpAccountant accountant = new RdpAccountant().compose(dpSgd(256 / 60000.0, 1.1, 14063));
    assertThat(accountant.epsilon(1e-5)).isCloseTo(2.5967, within(5e-5));
    double[] orders = accountant.orders();
    double[] rdp = accountant.rdp();
    double classical = Double.POSITIVE_INFINITY;
    for (int i = 0; i < orders.length; i++) {
      classical = Math.min(classical, rdp[i] + Math.log(1 / 1e-5) / (orders[i] - 1));
    }
    assertThat(classical).isCloseTo(3.01, within(0.005));
  }

  /**
   * TF Privacy compute_dp_sgd_privacy_test.test_compute_dp_sgd_privacy (values asserted there to
   * 7 places), with that library's order list; steps = ceil(epochs * n / batch).
   */
  @ParameterizedTest(name = "n={0} batch={1} sigma={2} epochs={3}")
  @CsvSource({
      "60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19.0",
      "100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13.0",
      "100000000, 1024, 0.1, 10, 1e-7, 5907982.3113978775, 1.25",
  })
  void tensorflowPrivacyComputeDpSgdPrivacy(long n, long batch, double sigma, double epochs,
      double delta, double expectedEpsilon, double expectedOrder) {
    long steps = (long) Math.ceil(epochs * n / batch);
    RdpGuarantee g = new RdpAccountant(TFP_ORDERS).compose(dpSgd((double) batch / n, sigma, steps))
        .epsilonAndOrder(delta);
    assertThat(g.epsilon()).isCloseTo(expectedEpsilon, within(Math.max(1e-7, expectedEpsilon * 1e-11)));
    assertThat(g.optimalOrder()).isEqualTo(expectedOrder);
  }

  /**
   * TF Privacy compute_dp_sgd_privacy_test.test_compute_dp_sgd_example_privacy (default
   * dp_accounting orders, 1.2 epochs, delta 1e-5). Without sampling the RDP is closed-form and
   * must match to 7 places. With Poisson sampling the optimum is at a fractional order, where
   * TF Privacy's values are upper bounds: ours are the exact values, checked against mpmath
   * integration of A_alpha (src/test/python/rdp_reference.py), and never exceed TF Privacy's.
   */
  @Test
  void tensorflowPrivacyExamplePrivacy() {
    assertThat(new RdpAccountant().compose(new SelfComposedEvent(new GaussianEvent(0.7), 2)).epsilon(1e-5))
        .isCloseTo(10.8602036, within(1e-7));
    assertThat(new RdpAccountant().compose(new SelfComposedEvent(new GaussianEvent(0.35), 2)).epsilon(1e-5))
        .isCloseTo(26.2880374, within(1e-7));

    RdpGuarantee sampled = new RdpAccountant().compose(dpSgd(0.01, 0.7, 120)).epsilonAndOrder(1e-5);
    assertThat(sampled.optimalOrder()).isEqualTo(4.4);
    // mpmath: log A(q=.01, sigma=.7, alpha=4.4) = 0.015487929224048051615 -> epsilon 3.23919219391
    assertThat(sampled.epsilon()).isCloseTo(3.23919219391, within(1e-9));
    assertThat(sampled.epsilon()).isLessThanOrEqualTo(3.2392676).isGreaterThan(3.2392676 - 1e-4);

    RdpGuarantee microbatched = new RdpAccountant().compose(dpSgd(0.01, 0.35, 120)).epsilonAndOrder(1e-5);
    // mpmath: log A(q=.01, sigma=.35, alpha=1.6) = 0.025864976702393763422 -> 120 * rdp = 5.17299534048
    double exact = 5.1729953404787519187 + Math.log1p(-1 / 1.6) - (Math.log(1e-5) + Math.log(1.6)) / 0.6;
    assertThat(microbatched.optimalOrder()).isEqualTo(1.6);
    assertThat(microbatched.epsilon()).isCloseTo(exact, within(1e-9)).isLessThanOrEqualTo(22.6248601);
  }

  @Test
  void tensorflowPrivacyStatement() {
    // TF Privacy compute_dp_sgd_privacy_test, DP-SGD statement: 10000 examples, batch 64, noise
    // 2.0 halved by microbatching to 1.0, 5 epochs, delta 1e-6, RDP: "13.376" without sampling
    // (5 steps) and "1.616" with Poisson sampling (q = 0.0064, ceil(5/0.0064) = 782 steps).
    assertThat(new RdpAccountant().compose(new SelfComposedEvent(new GaussianEvent(1.0), 5)).epsilon(1e-6))
        .isCloseTo(13.376, within(5e-4));
    assertThat(new RdpAccountant().compose(dpSgd(0.0064, 1.0, 782)).epsilon(1e-6))
        .isCloseTo(1.616, within(5e-4));
  }

  @Test
  void dpAccountingPoissonSampledGaussianCurve() {
    // dp_accounting rdp_privacy_accountant_test.test_compute_rdp_poisson_sampled_gaussian:
    // q .01, sigma 2.5, 50 steps. Integer orders must match (rtol 1e-4 there). At fractional
    // orders dp_accounting's values are upper bounds: ours equal mpmath integration
    // (log A(.01, 2.5, 1.5) = 6.5007089718803973675e-6, log A(.01, 2.5, 2.5) = 3.2562541707543729095e-5).
    RdpAccountant accountant = new RdpAccountant(1.5, 2.5, 5, 50, 100).compose(dpSgd(0.01, 2.5, 50));
    double[] rdp = accountant.rdp();
    double[] published = {6.70579741e-04, 1.08548710e-03, 2.18075656e-03, 2.38460375e-02, 1.67416308e+02};
    assertThat(rdp[0]).isCloseTo(50 * 6.5007089718803973675e-6 / 0.5, within(1e-12)).isLessThan(published[0]);
    assertThat(rdp[1]).isCloseTo(50 * 3.2562541707543729095e-5 / 1.5, within(1e-12)).isLessThan(published[1]);
    for (int i = 2; i < 5; i++) {
      assertThat(rdp[i]).isCloseTo(published[i], within(published[i] * 1e-4));
    }
  }

  @Test
  void pureDpConversionByHand() {
    // dp_accounting test_compute_epsilon_delta_pure_dp: constant RDP 1.1 over orders 2..32,
    // delta 1e-5 -> epsilon 1.32783806176 at order 32, and back.
    double[] orders = new double[31];
    double[] rdp = new double[31];
    for (int i = 0; i < 31; i++) {
      orders[i] = i + 2;
      rdp[i] = 1.1;
    }
    RdpGuarantee eps = RdpConversion.epsilon(orders, rdp, 1e-5);
    assertThat(eps.epsilon()).isCloseTo(1.32783806176, within(1e-10));
    assertThat(eps.optimalOrder()).isEqualTo(32);
    RdpGuarantee delta = RdpConversion.delta(orders, rdp, 1.32783806176);
    assertThat(delta.delta()).isCloseTo(1e-5, within(1e-14));
    assertThat(delta.optimalOrder()).isEqualTo(32);
  }

  @Test
  void gaussianDeltaIsBetweenExactAndClassicalBounds() {
    // dp_accounting test_delta_bounds_gaussian: for sigma = 1, q = 1, RDP's delta(eps) must be
    // >= the exact Gaussian delta (Balle & Wang 2018, Thm. 8) and <= exp(-(eps-1/2)^2/2).
    double[] orders = new double[495];
    for (int i = 0; i < orders.length; i++) {
      orders[i] = 0.1 * (i + 11);
    }
    RdpAccountant accountant = new RdpAccountant(orders).compose(new GaussianEvent(1.0));
    for (int k = 0; k < 100; k++) {
      double eps = 0.1 * k;
      double delta = accountant.delta(eps);
      double exact = 0.5 * org.cloister.dp.math.ErrorFunction.erfc((eps - 0.5) / Math.sqrt(2))
          - Math.exp(eps) * 0.5 * org.cloister.dp.math.ErrorFunction.erfc((eps + 0.5) / Math.sqrt(2));
      assertThat(delta).isGreaterThanOrEqualTo(exact);
      if (eps >= 0.5) {
        assertThat(delta).isLessThanOrEqualTo(Math.exp(-0.5 * (eps - 0.5) * (eps - 0.5)));
      }
    }
  }

  @Test
  void epsilonAndDeltaAreInverse() {
    // dp_accounting test_epsilon_delta_consistency
    double[] orders = new double[48];
    for (int i = 0; i < orders.length; i++) {
      orders[i] = i + 2;
    }
    for (double q : new double[] {0, 0.01, 0.1, 0.8, 1}) {
      for (double sigma : new double[] {0.1, 1, 10, 100}) {
        RdpAccountant accountant = new RdpAccountant(orders).compose(new PoissonSampledEvent(q, new GaussianEvent(sigma)));
        for (double delta : new double[] {.99, .9, .1, .01, 1e-3, 1e-5, 1e-9, 1e-12}) {
          double eps = accountant.epsilon(delta);
          double back = accountant.delta(eps);
          if (eps == 0) {
            assertThat(back).isLessThanOrEqualTo(delta);
          } else {
            assertThat(back).isCloseTo(delta, within(delta * 1e-9));
          }
        }
      }
    }
  }

  @Test
  void epsilonGrowsWithStepsAndSamplingRateAndShrinksWithNoise() {
    double prev = 0;
    for (long steps : new long[] {100, 1000, 10_000, 100_000, 1_000_000}) {
      double eps = new RdpAccountant().compose(dpSgd(0.01, 1.0, steps)).epsilon(1e-5);
      assertThat(eps).isGreaterThan(prev);
      prev = eps;
    }
    prev = 0;
    for (double q : new double[] {1e-4, 1e-3, 0.01, 0.1, 0.5, 1}) {
      double eps = new RdpAccountant().compose(dpSgd(q, 1.0, 1000)).epsilon(1e-5);
      assertThat(eps).isGreaterThan(prev);
      prev = eps;
    }
    prev = Double.POSITIVE_INFINITY;
    for (double sigma : new double[] {0.1, 0.3, 0.5, 0.8, 1, 2, 5, 10, 100}) {
      double eps = new RdpAccountant().compose(dpSgd(0.01, sigma, 1000)).epsilon(1e-5);
      assertThat(eps).isLessThan(prev);
      prev = eps;
    }
  }

  @Test
  void stableAtTheExtremesOfTheIssue() {
    // q down to 1e-7, sigma down to 0.1, up to 1e6 steps: finite, ordered, no NaN.
    double small = new RdpAccountant().compose(dpSgd(1e-7, 0.1, 1_000_000)).epsilon(1e-5);
    double smaller = new RdpAccountant().compose(dpSgd(1e-7, 0.1, 100_000)).epsilon(1e-5);
    assertThat(small).isFinite().isGreaterThan(smaller).isGreaterThan(0);
    double tiny = new RdpAccountant().compose(dpSgd(1e-7, 1.0, 1_000_000)).epsilon(1e-5);
    assertThat(tiny).isFinite().isBetween(0.0, 1.0);
  }

  @Test
  void compositionFormsAgree() {
    // dp_accounting test_rdp_composition
    GaussianEvent base = new GaussianEvent(3.14159);
    double single = new RdpAccountant(2.71828).compose(base).rdp()[0];
    assertThat(new RdpAccountant(2.71828).compose(base, 6).rdp()[0]).isCloseTo(6 * single, within(1e-15));
    assertThat(new RdpAccountant(2.71828).compose(new SelfComposedEvent(base, 2), 3).rdp()[0]).isCloseTo(6 * single, within(1e-15));
    assertThat(new RdpAccountant(2.71828).compose(new ComposedEvent(List.of(
        new SelfComposedEvent(base, 1), new SelfComposedEvent(base, 2), new SelfComposedEvent(base, 3)))).rdp()[0])
        .isCloseTo(6 * single, within(1e-15));
    // A Poisson-sampled composition of Gaussians is one Gaussian with sigma^-2 = sum sigma_i^-2
    // (dp_accounting test_compute_rdp_multi_gaussian).
    double rdp = new RdpAccountant(3.14159).compose(new PoissonSampledEvent(1.0,
        new ComposedEvent(List.of(new GaussianEvent(2.71828), new GaussianEvent(6.28319))))).rdp()[0];
    assertThat(rdp).isCloseTo(3.14159 / (2 * 2.71828 * 2.71828) + 3.14159 / (2 * 6.28319 * 6.28319), within(1e-14));
  }

  @Test
  void laplaceComposesToPureDp() {
    // dp_accounting test_laplace: Laplace(1/eps) composed `count` times is (eps*count, 0)-DP;
    // simulated with a very large order (ours are capped at 1e6, costing ~log(1e-4)/1e6 in eps).
    for (double[] p : new double[][] {{0.01, 1}, {1.0, 1}, {100.0, 1}, {1.0, 100}}) {
      RdpAccountant accountant = new RdpAccountant(1e6).compose(new LaplaceEvent(1 / p[0]), (long) p[1]);
      assertThat(accountant.epsilon(1e-10)).isCloseTo(p[0] * p[1], within(1e-4 + 1e-6 * p[0] * p[1]));
    }
  }

  @Test
  void edgeCases() {
    assertThat(new RdpAccountant().compose(new PoissonSampledEvent(0, new GaussianEvent(1))).epsilon(1e-10)).isZero();
    assertThat(new RdpAccountant().compose(new PoissonSampledEvent(0, new GaussianEvent(1))).delta(1e-10)).isZero();
    assertThat(new RdpAccountant().compose(new GaussianEvent(0)).epsilon(0.1)).isInfinite();
    assertThat(new RdpAccountant().compose(new NonPrivateEvent()).delta(5)).isEqualTo(1.0);
    assertThat(new RdpAccountant().compose(new NoOpEvent()).epsilon(1e-5)).isZero();
    assertThat(new RdpAccountant().compose(new NonPrivateEvent(), 0).epsilon(1e-5)).isZero();
  }

  @Test
  void unsupportedEventsAreRejectedWithAReasonAndLeaveTheHistoryUntouched() {
    RdpAccountant accountant = new RdpAccountant().compose(new GaussianEvent(2));
    double before = accountant.epsilon(1e-5);
    DpEvent swor = new SampledWithoutReplacementEvent(1000, 10, new GaussianEvent(1));
    assertThat(accountant.supports(swor)).isFalse();
    assertThatThrownBy(() -> accountant.compose(new ComposedEvent(List.of(new GaussianEvent(1), swor))))
        .isInstanceOf(UnsupportedEventException.class)
        .hasMessageContaining("rdp accountant cannot interpret SampledWithoutReplacementEvent")
        .hasMessageContaining("replace-one");
    DpEvent sampledLaplace = new PoissonSampledEvent(0.1, new LaplaceEvent(1));
    assertThat(accountant.supports(sampledLaplace)).isFalse();
    assertThatThrownBy(() -> accountant.compose(sampledLaplace)).isInstanceOf(UnsupportedEventException.class)
        .hasMessageContaining("Gaussian");
    assertThat(accountant.epsilon(1e-5)).isEqualTo(before);
  }

  @Test
  void badArgumentsAreNamed() {
    assertThatThrownBy(() -> new RdpAccountant(0.5)).hasMessageContaining("order must be in (1");
    assertThatThrownBy(() -> new RdpAccountant().epsilon(1.5)).hasMessageContaining("delta must be in [0, 1], got 1.5");
    assertThatThrownBy(() -> new RdpAccountant().delta(-1)).hasMessageContaining("epsilon must be >= 0, got -1");
    assertThatThrownBy(() -> new RdpAccountant().compose(new GaussianEvent(1), -2)).hasMessageContaining("count must be >= 0");
  }

  @Test
  void copyIsIndependent() {
    RdpAccountant a = new RdpAccountant().compose(dpSgd(0.01, 1, 100));
    RdpAccountant b = a.copy().compose(dpSgd(0.01, 1, 100));
    assertThat(b.epsilon(1e-5)).isGreaterThan(a.epsilon(1e-5));
    assertThat(a.epsilon(1e-5)).isEqualTo(new RdpAccountant().compose(dpSgd(0.01, 1, 100)).epsilon(1e-5));
  }

  private static double[] tfpOrders() {
    double[] o = new double[72];
    int n = 0;
    for (double v : new double[] {1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5}) {
      o[n++] = v;
    }
    for (int i = 5; i < 64; i++) {
      o[n++] = i;
    }
    o[n++] = 128;
    o[n++] = 256;
    o[n] = 512;
    return o;
  }

  @Test
  void aRememberedSubsampledGaussianCurveIsBitForBitTheComputedOne() {
    double q = 0.123456789;
    // the accountant works from the event's precision 1/sigma^2, as it composes Gaussians
    double sigma = 1 / Math.sqrt(org.cloister.dp.accounting.GaussianPrecision.of(new GaussianEvent(1.3579)));
    for (double[] orders : new double[][] {new RdpAccountant().orders(), {1.5, 2, 7.25, 64}}) {
      double[] first = new RdpAccountant(orders).compose(new PoissonSampledEvent(q, new GaussianEvent(1.3579))).rdp();
      double[] again = new RdpAccountant(orders).compose(new PoissonSampledEvent(q, new GaussianEvent(1.3579))).rdp();
      for (int i = 0; i < orders.length; i++) {
        double direct = RdpMechanisms.subsampledGaussian(q, sigma, orders[i]);
        assertThat(first[i]).isEqualTo(direct);
        assertThat(again[i]).isEqualTo(direct);
      }
    }
    // another order set with the same (q, sigma) gets its own curve
    assertThat(new RdpAccountant(2, 3).compose(new PoissonSampledEvent(q, new GaussianEvent(1.3579))).rdp())
        .containsExactly(RdpMechanisms.subsampledGaussian(q, sigma, 2), RdpMechanisms.subsampledGaussian(q, sigma, 3));
  }
}

package org.cloister.enclave.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import java.util.Map;
import org.cloister.aggregation.strategy.StrategySpec;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.aggregation.ScalarKernel;
import org.cloister.enclave.aggregation.UpdateKernel;
import org.junit.jupiter.api.Test;

class DataPathSelfTestTest {
  private static final int DIM = 1003; // not a multiple of any vector length, nor of a 4 KiB segment

  private static AggregationPolicy policy(double bound, AggregationPolicy.CentralDp dp, StrategySpec strategy) {
    return new AggregationPolicy(AggregationPolicy.FORMAT, "study", "m", DIM, bound, 1, 2, dp, strategy);
  }

  private static SecureRandom seeded() {
    try {
      SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
      r.setSeed(42);
      return r;
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void theDataPathPassesWithEachKernelAndEveryKindOfPolicy() throws Exception {
    StrategySpec median = new StrategySpec("median", Map.of("server_lr", 1.0));
    StrategySpec trimmed = new StrategySpec("trimmed_mean", Map.of("trim", 0.25, "server_lr", 1.0));
    for (UpdateKernel kernel : new UpdateKernel[] {UpdateKernel.best(), new ScalarKernel()}) {
      for (AggregationPolicy p : new AggregationPolicy[] {
          policy(10, null, AggregationPolicy.FEDAVG), policy(1e9, null, median), policy(0.5, null, trimmed),
          policy(1.0, new AggregationPolicy.CentralDp(1.0, 1.0, 4, 10, 1e-5), AggregationPolicy.FEDAVG)}) {
        DataPathSelfTest.Result r = new DataPathSelfTest(p, kernel, seeded()).run();
        assertThat(r.rounds()).as(p.strategy() + " " + kernel.name()).isEqualTo(DataPathSelfTest.ROUNDS);
        assertThat(r.updates()).isEqualTo(DataPathSelfTest.ROUNDS * DataPathSelfTest.UPDATES_PER_ROUND);
      }
    }
  }

  /** The adversary is the platform's arithmetic: a kernel that gets one coordinate wrong must stop the enclave. */
  @Test
  void aKernelThatMiscomputesOneCoordinateStopsTheEnclaveNamingTheIndex() {
    UpdateKernel wrong = new SkewedAt(517);
    assertThatThrownBy(() -> new DataPathSelfTest(policy(10, null, AggregationPolicy.FEDAVG), wrong, seeded()).run())
        .isInstanceOf(DataPathSelfTest.Failure.class)
        .hasMessageContaining("wrong at index 517");
    // the same fault with the honest kernel is not there: the check is what fails, not the set-up
    UpdateKernel honest = new ScalarKernel();
    org.assertj.core.api.Assertions.assertThatCode(
        () -> new DataPathSelfTest(policy(10, null, AggregationPolicy.FEDAVG), honest, seeded()).run())
        .doesNotThrowAnyException();
  }

  @Test
  void aKernelThatCallsAValidUpdateInvalidStopsTheEnclave() {
    UpdateKernel overNorm = new Faulty() {
      @Override
      public void accumulate4(byte[][] values, float[] weights, int n, float[] in, float[] out, double[] squares) {
        honest.accumulate4(values, weights, n, in, out, squares);
        squares[2] = 1e30; // finite: taken as the update's squared norm, far over the bound
      }

      @Override
      public double accumulateInto(byte[] bytes, int off, int n, float weight, float[] in, float[] out) {
        honest.accumulateInto(bytes, off, n, weight, in, out);
        return 1e30;
      }
    };
    assertThatThrownBy(() -> new DataPathSelfTest(policy(10, null, AggregationPolicy.FEDAVG), overNorm, seeded()).run())
        .isInstanceOf(DataPathSelfTest.Failure.class)
        .hasMessageContaining("synthetic updates were refused");
  }

  /** Makes coordinate {@code index} of every sum it writes 0.1 % too large (the check allows 1e-5 relative). */
  private static final class SkewedAt extends Faulty {
    private final int index;

    SkewedAt(int index) {
      this.index = index;
    }

    @Override
    public void accumulate4(byte[][] values, float[] weights, int n, float[] in, float[] out, double[] squares) {
      honest.accumulate4(values, weights, n, in, out, squares);
      out[index] = out[index] * 1.001f;
    }

    @Override
    public double accumulateInto(byte[] bytes, int off, int n, float weight, float[] in, float[] out) {
      double sq = honest.accumulateInto(bytes, off, n, weight, in, out);
      out[index] = out[index] * 1.001f;
      return sq;
    }
  }

  /** A test double of a faulty platform: the honest scalar kernel with a fault added by the subclass. */
  private abstract static class Faulty implements UpdateKernel {
    final UpdateKernel honest = new ScalarKernel();

    @Override
    public String name() {
      return "faulty";
    }
  }
}

package org.cloister.simulations.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Structure of the round benchmark's result at tiny sizes; never wall-clock figures. */
class RoundBenchmarkTest {

  @Test
  @SuppressWarnings("unchecked")
  void reportsBothStacksWithOneEntryPerMeasuredRoundAndAllSitesAggregated() throws Exception {
    List<String> progress = new ArrayList<>();
    Map<String, Object> r = new RoundBenchmark(new RoundBenchmark.Options(2, 1000, 2, 1, 7), progress::add).runBoth();

    assertThat(r).containsEntry("sites", 2).containsEntry("params", 1000).containsEntry("measured_rounds", 2)
        .containsKeys("ratio_secure_plaintext_median_round", "target_met");
    assertThat((Double) r.get("ratio_secure_plaintext_median_round")).isPositive();
    for (String mode : List.of("secure", "plaintext")) {
      Map<String, Object> m = (Map<String, Object>) r.get(mode);
      assertThat(m).containsEntry("mode", mode)
          .containsKeys("round_ms", "open_to_close_ms", "aggregate_ms", "persist_ms", "site_seal_max_ms");
      assertThat((Map<String, Object>) m.get("round_ms")).containsKeys("median", "p90", "min", "max");
      List<Map<String, Object>> rounds = (List<Map<String, Object>>) m.get("rounds");
      assertThat(rounds).extracting(x -> x.get("round")).containsExactly(2, 3); // round 1 is the warm-up
      assertThat(rounds).allSatisfy(x -> {
        assertThat(x.get("aggregated")).isEqualTo(2);
        assertThat((Double) x.get("round_ms")).isPositive();
        assertThat(x.get("aggregate_ms")).isNotNull();
        assertThat(x.get("persist_ms")).isNotNull();
        assertThat(x.get("site_seal_max_ms")).isNotNull();
        assertThat((Double) x.get("after_last_update_ms")).isPositive(); // every round's updates pass accepted()
      });
      assertThat((Double) m.get("cpu_cores_busy_fraction")).isPositive();
    }
    // the transport-only baseline of the same run (issue 17): the wire without Cloister logic
    Map<String, Object> t = (Map<String, Object>) r.get("transport");
    assertThat(t).containsEntry("mode", "transport");
    assertThat((Double) ((Map<String, Object>) t.get("round_ms")).get("median")).isPositive();
    assertThat((Double) r.get("plaintext_over_transport")).isPositive();
    assertThat(r).containsEntry("target_ratio_secure_plaintext", 1.25).containsEntry("target_plaintext_over_transport", 1.3);
    assertThat(progress).anyMatch(l -> l.startsWith("secure: round 3"));
    // CPU per measured round: the secure stack's enclave and broker are child processes, the plaintext stack has none
    Map<String, Object> secureCpu = (Map<String, Object>) ((Map<String, Object>) r.get("secure")).get("cpu_ms_per_round");
    Map<String, Object> plainCpu = (Map<String, Object>) ((Map<String, Object>) r.get("plaintext")).get("cpu_ms_per_round");
    assertThat((Double) secureCpu.get("bench_jvm")).isPositive();
    assertThat((Double) secureCpu.get("child_processes")).isPositive();
    assertThat((Double) plainCpu.get("child_processes")).isZero();
    assertThat((Double) r.get("ratio_secure_plaintext_cpu_per_round")).isPositive();
  }

  @Test
  void percentilesAreHdrHistogramsOverTheNonMissingValues() {
    double[] v = {5, 1, Double.NaN, 3, 2, 4};
    assertThat(RoundBenchmark.percentile(v, 50)).isCloseTo(3.0, org.assertj.core.api.Assertions.within(1e-3));
    assertThat(RoundBenchmark.percentile(v, 90)).isCloseTo(5.0, org.assertj.core.api.Assertions.within(1e-3));
    assertThat(RoundBenchmark.percentile(new double[] {Double.NaN}, 50)).isNaN();
  }

  @Test
  void rejectsMeaninglessSizes() {
    assertThatThrownBy(() -> new RoundBenchmark.Options(0, 10, 1, 1, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new RoundBenchmark.Options(1, 10, 1, 0, 1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theRandomDeltaStaysWellWithinTheEnclavesDefaultNormBound() {
    float[] d = RoundBenchmark.randomDelta(1_000_000, 3);
    double sq = 0;
    for (float x : d) {
      sq += x * x;
    }
    assertThat(Math.sqrt(sq)).isLessThan(1.0);
  }
}

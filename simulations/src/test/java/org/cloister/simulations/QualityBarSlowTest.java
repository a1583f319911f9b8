package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quality bars of issue 7 on real data, minutes each: run with
 * {@code ./mvnw -B -o -Pslow -pl simulations -am verify -Dtest='QualityBarSlowTest' -Dsurefire.failIfNoSpecifiedTests=false}.
 * Figures are printed to the test output (target/surefire-reports) for docs/benchmarks.md; times
 * are reported, never asserted.
 */
@Tag("slow")
class QualityBarSlowTest {

  @Test
  void wdbcDirichletEpsilonOneAcrossSeeds(@TempDir Path out) throws Exception {
    List<Double> acc = new ArrayList<>();
    for (long seed : new long[] {1, 2, 3, 4, 5, 6, 7, 8, 42}) {
      SimulationConfig cfg = new ScenarioLoader().loadBuiltin("wdbc-dirichlet-eps1").seed(seed)
          .outDir(out.resolve("seed-" + seed)).build();
      SimulationResult r = new FederatedSimulation(cfg, x -> { }).run();
      assertThat(r.status()).startsWith("finished");
      assertThat(r.sites()).allSatisfy(s -> assertThat(s.epsilon()).isLessThanOrEqualTo(1.0));
      acc.add(r.finalMetrics().accuracy());
      System.out.printf(Locale.ROOT, "seed %d: accuracy %.4f auc %.4f%n", seed, r.finalMetrics().accuracy(), r.finalMetrics().auc());
    }
    double mean = acc.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    System.out.printf(Locale.ROOT, "mean accuracy %.4f, min %.4f%n", mean, acc.stream().mapToDouble(Double::doubleValue).min().orElseThrow());
    // the bar holds on average over seeds; single splits of 113 test patients vary by a few patients.
    // Measured 0.9341 (min 0.9115) on the study's public bounds with log scale for the skewed
    // features (0.9558 on pooled standardization, which broke the sensitivity bound; docs/benchmarks.md)
    assertThat(mean).isGreaterThanOrEqualTo(0.93);
  }

  @Test
  void hundredVirtualSitesInProcess(@TempDir Path out) throws Exception {
    SimulationConfig cfg = SimulationConfig.builder().studyId("hundred").sites(100).partition("iid").rounds(10)
        .localSteps(2).dp(new DpSettings(true, 3.0, 1e-5, Double.NaN, 1.0, 0.5)).seed(42).outDir(out).build();
    long t0 = System.nanoTime();
    SimulationResult r = new FederatedSimulation(cfg, rep -> System.out.printf(Locale.ROOT,
        "round %d: %d sites, accuracy %.4f, %.1f s%n", rep.round(), rep.sites().size(), rep.accuracy(), rep.durationMillis() / 1000.0)).run();
    double seconds = (System.nanoTime() - t0) / 1e9;
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    System.out.printf(Locale.ROOT, "100 sites, 10 rounds: %.1f s, peak heap (sum of pool peaks) %d MB, max heap %d MB%n",
        seconds, peak >> 20, Runtime.getRuntime().maxMemory() >> 20);
    assertThat(r.status()).startsWith("finished");
    assertThat(r.rounds()).hasSize(10);
    assertThat(r.sites()).hasSize(100);
    assertThat(r.finalMetrics().accuracy()).isGreaterThan(0.9);
  }
}

package org.cloister.simulations.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.simulations.DpSettings;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import org.cloister.simulations.engine.SimulationEngine;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One seed, the inprocess engine and the spark engine on {@code local[2]} (found through
 * ServiceLoader, as {@code cloister simulate --engine spark} finds it): the same sites per round,
 * the same signed spends in the privacy ledger (event by event), the same per-site epsilon, and
 * models that agree to float rounding (Spark adds the partitions' partial sums in another order).
 */
class SparkEngineTest {

  private static SimulationConfig study(String dataset, int sites, Path out) {
    return SimulationConfig.builder().studyId("spark-equivalence").dataset(dataset).sites(sites)
        .partition("iid").rounds(3).localEpochs(1).seed(11).minSitesPerRound(Math.max(1, sites - 1))
        .dp(DpSettings.budget(2.0, 1e-5, 1.0)).outDir(out).build();
  }

  @Test
  void sparkOnLocal2AgreesWithInprocessOnEveryRoundSpendAndModel(@TempDir Path out) throws Exception {
    SimulationConfig inCfg = study("builtin:wdbc", 4, out.resolve("inprocess"));
    SimulationResult inproc = SimulationEngine.named("inprocess", 2, null).run(inCfg, r -> { });
    SimulationConfig spCfg = study("builtin:wdbc", 4, out.resolve("spark"));
    SimulationEngine spark = SimulationEngine.named("spark", 2, "local[2]");
    assertThat(spark).isInstanceOf(SparkSimulation.class);
    SimulationResult sp = spark.run(spCfg, r -> { });

    assertThat(sp.status()).startsWith("finished").isEqualTo(inproc.status());
    assertThat(sp.noiseMultiplier()).isEqualTo(inproc.noiseMultiplier());
    assertThat(sp.rounds()).hasSize(3).hasSameSizeAs(inproc.rounds());
    for (int i = 0; i < sp.rounds().size(); i++) {
      RoundReport a = inproc.rounds().get(i);
      RoundReport b = sp.rounds().get(i);
      assertThat(b.sites()).containsExactlyInAnyOrderElementsOf(a.sites());
      assertThat(b.loss()).as("round %d test loss", a.round()).isCloseTo(a.loss(), within(1e-5));
      assertThat(b.accuracy()).isCloseTo(a.accuracy(), within(0.01));
      assertThat(b.siteEpsilon()).isEqualTo(a.siteEpsilon()); // the same spends, to the bit
    }
    assertThat(sp.finalMetrics().logLoss()).isCloseTo(inproc.finalMetrics().logLoss(), within(1e-5));
    assertThat(sp.sites()).isEqualTo(inproc.sites());
    assertThat(sp.sites()).allSatisfy(s -> assertThat(s.epsilon()).isGreaterThan(0.1).isLessThanOrEqualTo(2.0));
    assertThat(ledger(spCfg)).hasSize(4 * 3).isEqualTo(ledger(inCfg));
  }

  // tail=0: equal site sizes (the DP planner calibrates one noise multiplier per distinct size, slowly for small sites);
  // slow: about a minute on a loaded 2-core machine
  @Tag("slow")
  @Test
  void syntheticSitesAreGeneratedOnTheExecutorsAndAgree(@TempDir Path out) throws Exception {
    String cohort = "synthetic:features=8,examples=40,tail=0,label_skew=0.5";
    SimulationConfig inCfg = study(cohort, 24, out.resolve("inprocess"));
    SimulationResult inproc = SimulationEngine.named("inprocess", 2, null).run(inCfg, r -> { });
    SimulationConfig spCfg = study(cohort, 24, out.resolve("spark"));
    SimulationResult sp = new SparkSimulation("local[2]", 3).run(spCfg, r -> { });
    assertThat(sp.status()).startsWith("finished");
    assertThat(sp.sites()).isEqualTo(inproc.sites());
    assertThat(sp.finalMetrics().logLoss()).isCloseTo(inproc.finalMetrics().logLoss(), within(1e-5));
    assertThat(ledger(spCfg)).isEqualTo(ledger(inCfg));
  }

  /** Each ledger entry as party, round, released event and epsilon after it, in site and round order. */
  private static List<String> ledger(SimulationConfig cfg) throws Exception {
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite:" + cfg.outDir().resolve("coordinator.db"))) {
      return store.ledger(cfg.studyId()).stream().map(e -> {
        try {
          PrivacySpend p = PrivacySpend.parseFrom(e.spend());
          return p.getPartyId() + " r" + p.getRound() + " " + p.getEventJson() + " eps=" + p.getEpsilonAfter();
        } catch (Exception ex) {
          throw new IllegalStateException(ex);
        }
      }).sorted().toList();
    }
  }
}

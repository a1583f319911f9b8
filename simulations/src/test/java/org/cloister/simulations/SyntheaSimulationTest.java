package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A simulated study on a (tiny, committed) Synthea cohort: one site per hospital folder. */
class SyntheaSimulationTest {
  private static final Path COHORT = Path.of("src/test/resources/synthea-mini");

  private static SimulationConfig.Builder study(Path out) {
    return SimulationConfig.builder().studyId("synthea-mini").dataset("synthea:" + COHORT).labelColumn("hypertension")
        .sites(3).partition(SimulationData.BY_SITE).rounds(3).localEpochs(1).batchSize(8).learningRate(0.3).seed(3)
        .minSitesPerRound(3).outDir(out);
  }

  @Test
  void bySiteKeepsEachHospitalsTrainingRowsAndHoldsOutAStratifiedTestSplit(@TempDir Path out) {
    SimulationData d = SimulationData.prepare(study(out).build());
    int[] sizes = d.sitePartitions().stream().mapToInt(p -> p.size()).toArray();
    // 60 adults per hospital, 20% held out in total
    assertThat(Arrays.stream(sizes).sum() + d.test().size()).isEqualTo(180);
    assertThat(Arrays.stream(sizes).boxed().toList()).allSatisfy(n -> assertThat(n).isBetween(40, 56));
    assertThat(d.test().size()).isEqualTo(36);
    assertThat(d.test().numFeatures()).isEqualTo(16); // age, sex, 14 vitals/labs: the site is not a feature
    for (double[] row : d.test().features()) {
      assertThat(Arrays.stream(row).allMatch(Double::isFinite)).isTrue(); // missing labs imputed with training means
    }
  }

  @Test
  void bySiteNeedsAsManySitesAsFoldersAndADatasetWithSites(@TempDir Path out) {
    assertThatThrownBy(() -> SimulationData.prepare(study(out).sites(4).minSitesPerRound(2).build()))
        .hasMessageContaining("has 3 site folders").hasMessageContaining("--sites is 4");
    assertThatThrownBy(() -> SimulationData.prepare(study(out).dataset("builtin:wdbc").labelColumn("malignant").build()))
        .hasMessageContaining("partition by-site needs a dataset with hospitals");
  }

  @Test
  void trainsAcrossTheHospitals(@TempDir Path out) throws Exception {
    SimulationResult r = new FederatedSimulation(study(out).build(), x -> { }).run();
    assertThat(r.status()).startsWith("finished");
    assertThat(r.sites()).hasSize(3).allSatisfy(s -> assertThat(s.roundsContributed()).isEqualTo(3));
    // hypertension from age, BMI and blood pressure is learnable: clearly above chance (0.5) on the 36 held-out patients (seeded: 0.74)
    assertThat(r.finalMetrics().auc()).isGreaterThan(0.7);
  }
}

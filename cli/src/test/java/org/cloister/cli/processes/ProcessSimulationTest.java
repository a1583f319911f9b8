package org.cloister.cli.processes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.cloister.simulations.DpSettings;
import org.cloister.simulations.FederatedSimulation;
import org.cloister.simulations.ResultsWriter;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code simulate --mode processes}: the study with every site a {@code site start} process and a
 * {@code coordinator start} process (with its enclave and key broker), as deployed, gives the
 * same results as the in-process simulation within DP noise. The comparison is slow (seven JVMs):
 * it runs with {@code -Pslow}.
 */
class ProcessSimulationTest {

  private static SimulationConfig config(Path out) {
    return SimulationConfig.builder().studyId("proc-sim").sites(4).rounds(5).seed(7)
        .dp(DpSettings.budget(3.0, 1e-5, 1.0)).roundDeadline(Duration.ofSeconds(90)).outDir(out).build();
  }

  @Test
  @Tag("slow")
  void fourSiteProcessesMatchTheInProcessSimulationWithinNoise(@TempDir Path dir) throws Exception {
    SimulationResult inProcess = new FederatedSimulation(config(dir.resolve("in-process")), r -> { }).run();
    List<RoundReport> progress = new ArrayList<>();
    SimulationConfig cfg = config(dir.resolve("processes"));
    SimulationResult processes = new ProcessSimulation(cfg, progress::add).run();
    Path written = new ResultsWriter().write(processes, cfg.outDir());

    assertThat(processes.status()).isEqualTo(inProcess.status()).startsWith("finished");
    assertThat(processes.rounds()).hasSize(5);
    assertThat(progress).hasSize(5);
    for (RoundReport r : processes.rounds()) {
      assertThat(r.sites()).containsExactly("site-1", "site-2", "site-3", "site-4");
    }
    // the same partitions, the same DP calibration, the same budgets
    assertThat(processes.noiseMultiplier()).isEqualTo(inProcess.noiseMultiplier());
    for (int s = 0; s < 4; s++) {
      assertThat(processes.sites().get(s).examples()).isEqualTo(inProcess.sites().get(s).examples());
      assertThat(processes.sites().get(s).epsilon()).isCloseTo(inProcess.sites().get(s).epsilon(), within(1e-9))
          .isLessThanOrEqualTo(3.0);
    }
    // DP noise differs (seeded in-process, OS entropy at deployed sites): accuracy agrees within noise
    assertThat(processes.finalMetrics().accuracy()).isGreaterThan(0.85)
        .isCloseTo(inProcess.finalMetrics().accuracy(), within(0.06));
    assertThat(processes.finalMetrics().auc()).isGreaterThan(0.9);

    // the same results.json shape as an in-process run; the deployment's kits, logs and database next to it
    Path reference = new ResultsWriter().write(inProcess, dir.resolve("in-process"));
    ObjectMapper json = new ObjectMapper();
    JsonNode a = json.readTree(written.toFile());
    JsonNode b = json.readTree(reference.toFile());
    assertThat(Set.copyOf(iterable(a.fieldNames()))).isEqualTo(Set.copyOf(iterable(b.fieldNames())));
    assertThat(cfg.outDir().resolve("coordinator.db")).exists();
    assertThat(cfg.outDir().resolve("deployment/kits/evaluator/sealing.key")).exists();
    assertThat(Files.readString(cfg.outDir().resolve("deployment/logs/site-1.log"))).contains("sealed to the attested enclave");
  }

  @Test
  void refusesAStudyWithoutADpBudgetBecauseDeployedSitesTrainOnlyPrivately(@TempDir Path dir) {
    SimulationConfig cfg = SimulationConfig.builder().studyId("no-dp").sites(2).rounds(1).outDir(dir).build();
    assertThatThrownBy(() -> new ProcessSimulation(cfg, r -> { }).run())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--epsilon");
  }

  private static <T> List<T> iterable(java.util.Iterator<T> it) {
    List<T> out = new ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }
}

package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.cloister.simulations.engine.InProcessSimulation;
import org.cloister.simulations.engine.SiteSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A ComputationGraph model (the zoo's {@code skipmlp}: a residual block and a skip connection from
 * the inputs), named in a scenario, trained privately by every site: it learns WDBC, and each
 * site's ledger epsilon is the layer-stack MLP's to the bit for the same noise and sampling (the
 * accountant sees the same PoissonSampled(q, Gaussian(sigma)) steps whatever the network's shape).
 */
class GraphModelSimulationTest {
  private static final String SCENARIO = """
      study_id: graph-model
      dataset: builtin:wdbc
      label: malignant
      sites: 3
      partition: iid
      rounds: 4
      local_steps: 3
      learning_rate: 1.0
      model: %s
      strategy: fedavg
      min_sites: 3
      seed: 7
      test_fraction: 0.2
      dp:
        noise_multiplier: 1.0
        delta: 1.0e-5
        clip: 0.5
        sampling_rate: 0.25
      """;

  private static SimulationResult run(String model, Path out) throws Exception {
    SimulationConfig cfg = new ScenarioLoader().load(SCENARIO.formatted(model), "graph-model.yaml").outDir(out).build();
    assertThat(cfg.model()).isEqualTo(model);
    return new InProcessSimulation(cfg, SiteSource.of(SimulationData.prepare(cfg)), 1, r -> { }).run();
  }

  @Test
  void aGraphModelLearnsPrivatelyAndSpendsWhatTheMlpSpends(@TempDir Path out) throws Exception {
    SimulationResult graph = run("skipmlp", out.resolve("graph"));
    SimulationResult mlp = run("mlp", out.resolve("mlp"));

    assertThat(graph.status()).startsWith("finished");
    assertThat(graph.finalMetrics().accuracy()).isGreaterThanOrEqualTo(0.9);
    assertThat(graph.noiseMultiplier()).isEqualTo(1.0);
    assertThat(graph.sites()).hasSize(3).allSatisfy(s -> assertThat(s.epsilon()).isPositive().isFinite());
    assertThat(graph.sites()).isEqualTo(mlp.sites()); // ids, examples, rounds, epsilon and delta, exactly
  }
}

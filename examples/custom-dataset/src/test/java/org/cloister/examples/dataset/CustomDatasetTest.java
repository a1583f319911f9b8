package org.cloister.examples.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.cloister.data.DatasetSource;
import org.cloister.data.DatasetSources;
import org.cloister.simulations.DpSettings;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationData;
import org.cloister.simulations.SimulationResult;
import org.cloister.simulations.engine.InProcessSimulation;
import org.cloister.simulations.engine.SiteSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** docs/extending.md, "Add a dataset": the source is found by its scheme and a simulated study runs on it. */
class CustomDatasetTest {

  @Test
  void theSourceIsFoundByItsSchemeThroughServiceLoader() {
    DatasetSources installed = DatasetSources.installed();
    assertThat(installed.schemes()).contains("builtin:", "csv:", "synthea:", "blobs:");
    DatasetSource.Loaded l = installed.load("blobs:n=100,features=3", null);
    assertThat(l.dataset().size()).isEqualTo(100);
    assertThat(l.dataset().featureNames()).containsExactly("x0", "x1", "x2");
    assertThat(l.dataset().classNames()).containsExactly("a", "b");
    assertThat(l.preprocessing().needsPrivateEstimate()).isFalse();
    assertThat(installed.load("blobs:n=100,features=3", null).dataset().features())
        .isDeepEqualTo(l.dataset().features()); // seeded: the same rows every time
    assertThatThrownBy(() -> installed.load("blobs:rows=3", null)).hasMessageContaining("'rows=3' is not one of");
    assertThatThrownBy(() -> installed.load("nosuch:x", null)).hasMessageContaining("unknown dataset 'nosuch:x'")
        .hasMessageContaining("blobs:");
  }

  @Test
  void aSimulatedStudyPartitionsAndLearnsIt(@TempDir Path out) throws Exception {
    SimulationConfig cfg = SimulationConfig.builder().dataset("blobs:n=600").sites(3).rounds(3).localEpochs(1)
        .learningRate(0.3).dp(DpSettings.off()).outDir(out).build();
    SimulationData data = SimulationData.prepare(cfg);
    assertThat(data.sitePartitions()).hasSize(3);
    assertThat(data.preprocessingEvent()).isNull(); // public bounds: nothing spent on preprocessing
    SimulationResult r = new InProcessSimulation(cfg, SiteSource.of(data), 1, rep -> { }).run();
    assertThat(r.status()).startsWith("finished");
    assertThat(r.finalMetrics().accuracy()).isGreaterThan(0.85); // the clusters are 2 standard deviations apart
  }
}

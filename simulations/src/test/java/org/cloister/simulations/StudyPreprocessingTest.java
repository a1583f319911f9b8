package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.cloister.data.BuiltinDatasets;
import org.cloister.data.Dataset;
import org.cloister.data.PrivateFeatureStats;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.accounting.Calibration;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.protocol.DpSchedule;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.TrainingConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 12 item 2 in simulations: no statistics pooled over the records; private estimation is accounted. */
class StudyPreprocessingTest {

  private static Path wdbcCsv(Path dir, boolean withExtraPatient) throws Exception {
    Dataset d = BuiltinDatasets.wdbc();
    StringBuilder b = new StringBuilder(String.join(",", d.featureNames())).append(",malignant\n");
    for (int i = 0; i < d.size(); i++) {
      for (double v : d.features()[i]) {
        b.append(v).append(',');
      }
      b.append(d.labels()[i]).append('\n');
    }
    if (withExtraPatient) {
      b.append("1000,".repeat(d.numFeatures())).append("1\n");
    }
    Path f = dir.resolve(withExtraPatient ? "plus-one.csv" : "wdbc.csv");
    Files.writeString(f, b.toString());
    return f;
  }

  private static Set<List<Double>> inputs(SimulationData data) {
    Set<List<Double>> rows = new HashSet<>();
    for (Dataset d : data.sitePartitions()) {
      Arrays.stream(d.features()).forEach(r -> rows.add(Arrays.stream(r).boxed().toList()));
    }
    Arrays.stream(data.test().features()).forEach(r -> rows.add(Arrays.stream(r).boxed().toList()));
    return rows;
  }

  @Test
  void addingOnePatientToTheStudyMovesNoOtherPatientsInputs(@TempDir Path dir) throws Exception {
    SimulationConfig.Builder b = SimulationConfig.builder().labelColumn("malignant").preprocessing(BuiltinDatasets.wdbcPreprocessing())
        .outDir(dir);
    Set<List<Double>> before = inputs(SimulationData.prepare(b.dataset("csv:" + wdbcCsv(dir, false)).build()));
    Set<List<Double>> after = inputs(SimulationData.prepare(b.dataset("csv:" + wdbcCsv(dir, true)).build()));
    // every patient's inputs are unchanged (the former pooled standardization moved all of them)
    assertThat(after).containsAll(before).hasSize(before.size() + 1);
  }

  @Test
  void aCsvWithoutSpecIsEstimatedPrivatelyAndTheEstimateIsInTheSitesEpsilon(@TempDir Path dir) throws Exception {
    SimulationConfig cfg = SimulationConfig.builder().dataset("csv:" + wdbcCsv(dir, false)).labelColumn("malignant")
        .dp(DpSettings.budget(1.0, 1e-5, 1.0)).outDir(dir).build();
    SimulationData data = SimulationData.prepare(cfg);
    double sigmaPre = PrivateFeatureStats.calibratedNoise(1.0, 1e-5);
    assertThat(data.preprocessingEvent()).isEqualTo(new GaussianEvent(sigmaPre));
    // on its own the release costs 10 % of the budget
    assertThat(new RdpAccountant().compose(data.preprocessingEvent()).epsilon(1e-5)).isBetween(0.09, 0.1);
    TrainingConfig base = TrainingConfig.newBuilder().setLocalEpochs(1).setBatchSize(16).build();
    DpConfig with = DpPlanner.plan(cfg, base, data.sitePartitions(), data.preprocessingEvent());
    DpConfig without = DpPlanner.plan(cfg, base, data.sitePartitions(), null);
    assertThat(with.getNoiseMultiplier()).isGreaterThan(without.getNoiseMultiplier());
    // every site's whole plan (release + all rounds of DP-SGD) fits the budget
    for (Dataset d : data.sitePartitions()) {
      DpSchedule s = DpSchedule.of(base.toBuilder().setDp(with).build(), d.size());
      double eps = new RdpAccountant().compose(data.preprocessingEvent())
          .compose(Calibration.dpSgdStep(s.samplingRate(), with.getNoiseMultiplier()), s.steps() * cfg.rounds()).epsilon(1e-5);
      assertThat(eps).isLessThanOrEqualTo(1.0);
    }
    // the shipped dataset has public bounds: nothing to spend
    assertThat(SimulationData.prepare(SimulationConfig.demo(dir)).preprocessingEvent()).isNull();
  }

  @Test
  void scenarioDeclaresPreprocessingAndCountPrivacy() {
    ScenarioLoader loader = new ScenarioLoader();
    SimulationConfig c = loader.load("""
        count_private: true
        local_steps: 3
        dp: {epsilon: 1, delta: 1.0e-5, sampling_rate: 0.25}
        preprocessing:
          a: {bounds: [0, 10]}
          b: {centre: 1, scale: 2}
          c: {private: [0, 5]}
          d: {private: auto}
        """, "s.yaml").build();
    assertThat(c.countPrivate()).isTrue();
    assertThat(c.preprocessing().features()).containsExactly("a", "b", "c", "d");
    assertThat(c.preprocessing().needsPrivateEstimate()).isTrue();
    assertThatThrownBy(() -> loader.load("count_private: true\ndp: {epsilon: 1, delta: 1.0e-5}\n", "s.yaml").build())
        .hasMessageContaining("count_private needs dp.sampling_rate and local_steps");
    assertThatThrownBy(() -> loader.load("preprocessing: {a: {bounds: 3}}\n", "s.yaml"))
        .hasMessageContaining("s.yaml: preprocessing.a").hasMessageContaining("bounds must be a list");
  }
}

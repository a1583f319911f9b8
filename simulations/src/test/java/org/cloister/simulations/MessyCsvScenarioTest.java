package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.cloister.data.MissingRule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A scenario's {@code csv:} block: typed, fail-closed, and applied to a {@code csv:} dataset only. */
class MessyCsvScenarioTest {

  private static Path messy(Path dir) throws Exception {
    StringBuilder csv = new StringBuilder("mrn|age|crp|y\n");
    for (int i = 0; i < 90; i++) {
      csv.append("M").append(i).append('|').append(i == 5 ? "?" : String.valueOf(30 + i % 40)).append('|')
          .append(i % 10 == 0 ? "" : String.valueOf(1 + i % 50)).append('|').append(i % 2).append('\n');
    }
    return Files.writeString(dir.resolve("messy.csv"), csv);
  }

  @Test
  void theCsvBlockReadsAMessyFileAndSaysWhatItSkippedAndFilled(@TempDir Path dir) throws Exception {
    Path file = messy(dir);
    SimulationConfig cfg = new ScenarioLoader().load("""
        dataset: csv:%s
        label: y
        sites: 3
        dp: {epsilon: 3, delta: 1.0e-5}
        preprocessing:
          age: {bounds: [18, 100]}
          crp: {log_bounds: [0.1, 300]}
        csv:
          delimiter: "|"
          ignore_columns: [mrn]
          missing_values: ["?"]
          missing: skip
          missing_by_column: {crp: "constant:5"}
        """.formatted(file), "messy.yaml").outDir(dir).build();
    assertThat(cfg.csv().delimiter()).isEqualTo('|');
    assertThat(cfg.csv().ruleFor("crp")).isEqualTo(MissingRule.parse("constant:5"));
    SimulationData data = SimulationData.prepare(cfg);
    int rows = data.test().size() + data.sitePartitions().stream().mapToInt(d -> d.size()).sum();
    assertThat(rows).isEqualTo(89);
    assertThat(data.test().featureNames()).containsExactly("age", "crp");
    assertThat(data.loadNotes()).containsExactly(
        "skipped 1 row(s) of messy.csv with a missing value (first: line 7: column 'age': missing value, row skipped)",
        "filled 9 missing value(s) of 'crp' with its declared constant:5.0");
    assertThat(cfg.describe().get("csv").toString()).contains("delimiter=|", "ignore_columns=[mrn]", "crp=constant:5.0");
  }

  @Test
  void badCsvSettingsAreErrorsNamingTheKey(@TempDir Path dir) throws Exception {
    assertThatThrownBy(() -> new ScenarioLoader().load("csv: {missing: mean}\n", "s.yaml"))
        .hasMessageContaining("s.yaml").hasMessageContaining("'csv.missing'").hasMessageContaining("unknown missing-value rule 'mean'");
    assertThatThrownBy(() -> new ScenarioLoader().load("csv: {missing_by_column: {crp: median}}\n", "s.yaml"))
        .hasMessageContaining("'csv.missing_by_column.crp'");
    assertThatThrownBy(() -> new ScenarioLoader().load("csv: {delimiter: ';;'}\n", "s.yaml"))
        .hasMessageContaining("'csv.delimiter'");
    assertThatThrownBy(() -> new ScenarioLoader().load("csv: {ignore_colums: [id]}\n", "s.yaml"))
        .hasMessageContaining("ignore_colums");
    assertThatThrownBy(() -> new ScenarioLoader().load("csv: {missing_by_column: {crp: 5}}\n", "s.yaml"))
        .hasMessageContaining("csv.missing_by_column");
    // the options read a csv: file; given for WDBC they are an error, not ignored
    SimulationConfig wdbc = new ScenarioLoader().load("csv: {missing: skip}\n", "s.yaml").outDir(dir).build();
    assertThatThrownBy(() -> SimulationData.prepare(wdbc)).hasMessageContaining("builtin:wdbc is not one");
  }
}

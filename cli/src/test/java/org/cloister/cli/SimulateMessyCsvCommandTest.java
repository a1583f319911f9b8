package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code simulate} on a messy CSV with the flags that match the scenario's {@code csv:} block. */
class SimulateMessyCsvCommandTest {

  private static Path messy(Path dir) throws Exception {
    StringBuilder csv = new StringBuilder("patient_id;age;score;y\n");
    for (int i = 0; i < 120; i++) {
      int y = i % 2;
      csv.append("P").append(i).append(';').append(i % 13 == 0 ? "NA" : String.valueOf(30 + (i * 7) % 50)).append(';')
          .append(10 + y * 20 + (i * 3) % 9).append(';').append(y).append('\n');
    }
    return Files.writeString(dir.resolve("messy.csv"), csv);
  }

  @Test
  void flagsReadTheFileAndTheOutputSaysWhatWasSkipped(@TempDir Path dir) throws Exception {
    Path file = messy(dir);
    var r = CloisterCommandTest.run("simulate", "--dataset", "csv:" + file, "--label", "y", "--sites", "2", "--rounds", "1",
        "--epsilon", "4", "--csv-delimiter", ";", "--ignore-columns", "patient_id", "--missing-values", "NA",
        "--missing", "skip", "--out", dir.resolve("out").toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("Data: skipped 10 row(s) of messy.csv with a missing value (first: line 2: column 'age'");
    assertThat(Files.readString(dir.resolve("out/results.json"))).contains("\"data_notes\"").contains("\"ignore_columns\"");
  }

  @Test
  void withoutARuleTheMissingValueIsAOneLineErrorNamingLineAndColumn(@TempDir Path dir) throws Exception {
    Path file = messy(dir);
    var r = CloisterCommandTest.run("simulate", "--dataset", "csv:" + file, "--label", "y", "--sites", "2", "--rounds", "1",
        "--epsilon", "4", "--csv-delimiter", ";", "--ignore-columns", "patient_id", "--missing-values", "NA",
        "--out", dir.resolve("out").toString());
    assertThat(r.code()).isNotZero();
    assertThat(r.err()).contains("line 2: column 'age': missing value ('NA')").contains("skip, centre or constant")
        .doesNotContain("\tat org.");
    var bad = CloisterCommandTest.run("simulate", "--missing", "median", "--dataset", "csv:" + file, "--label", "y");
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.err()).contains("--missing: unknown missing-value rule 'median'");
  }
}

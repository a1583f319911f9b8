package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Usage and input errors of {@code infer}: clear messages, exit 2, nothing sent or started. */
class InferCommandTest {
  static final String PCR0 = "0=" + "ab".repeat(48);

  @Test
  void aQueryWithoutExpectedPcrsIsRefusedBeforeAnythingIsSent() {
    CloisterCommandTest.Run r = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:1", "--features", "1,2,3");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("at least PCR0").contains("no query is sent");
  }

  @Test
  void nonNumericFeaturesNameTheLineAndColumnButNotTheValue(@TempDir Path dir) throws Exception {
    CloisterCommandTest.Run row = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:1",
        "--expect-pcr", PCR0, "--features", "1.5,tumour,3");
    assertThat(row.code()).isEqualTo(2);
    assertThat(row.err()).contains("line 1, column 2: not a number").doesNotContain("tumour");
    Path csv = dir.resolve("rows.csv");
    Files.writeString(csv, "radius,texture\n1.0,2.0\n3.0,\n");
    CloisterCommandTest.Run file = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:1",
        "--expect-pcr", PCR0, "--features", csv.toString());
    assertThat(file.code()).isEqualTo(2);
    assertThat(file.err()).contains("line 3, column 2: empty value");
  }

  @Test
  void servingAStudyDirectoryWithoutAConsortiumSaysWhatIsMissing(@TempDir Path dir) {
    CloisterCommandTest.Run r = CloisterCommandTest.run("infer", "serve", "--study-dir", dir.toString(),
        "--model-version", "2");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("study.json not found").contains("consortium");
  }

  @Test
  void badPcrAndEndpointArgumentsAreUsageErrors() {
    assertThat(CloisterCommandTest.run("infer", "query", "--expect-pcr", "0=zz", "--features", "1").err())
        .contains("is not hex");
    assertThat(CloisterCommandTest.run("infer", "query", "--host", "nohostport", "--expect-pcr", PCR0,
        "--features", "1").err()).contains("--host must be HOST:PORT");
  }
}

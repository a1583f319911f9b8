package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A user's mistake is one line naming the command and what is wrong; the stack trace only with --verbose. */
class OneLineErrorsTest {

  private static void assertOneLine(CloisterCommandTest.Run r, String command, String says) {
    assertThat(r.code()).as(r.err()).isNotZero();
    assertThat(r.err()).doesNotContain("\tat ").doesNotContain("Exception:");
    assertThat(r.err().lines().findFirst().orElse("")).startsWith(command + ": ").contains(says);
    assertThat(r.err().lines().count()).as(r.err()).isLessThanOrEqualTo(2);
  }

  @Test
  void aBadCsvValueAMissingFileAndAMissingDatasetAreOneLine(@TempDir Path dir) throws Exception {
    Path csv = dir.resolve("h.csv");
    Files.writeString(csv, "age,crp,y\n50,1.0,0\n61,high,1\n40,2.0,0\n");
    assertOneLine(CloisterCommandTest.run("simulate", "--rounds", "1", "--epsilon", "3", "--dataset", "csv:" + csv, "--label", "y",
        "--out", dir.resolve("o").toString()), "cloister simulate", "line 3");
    assertOneLine(CloisterCommandTest.run("simulate", "--rounds", "1", "--epsilon", "3", "--dataset", "csv:" + dir.resolve("missing.csv"),
        "--out", dir.resolve("o2").toString()), "cloister simulate", "missing.csv");
    CloisterCommandTest.Run missing = CloisterCommandTest.run("coordinator", "start", "--config", dir.resolve("none.yaml").toString());
    assertThat(missing.code()).isEqualTo(2); // a usage error: the file named, no stack trace
    assertThat(missing.err().lines().findFirst().orElse("")).contains("none.yaml");
    assertThat(missing.err()).doesNotContain("\tat ");
  }

  @Test
  void verbosePrintsTheStackTrace(@TempDir Path dir) throws Exception {
    Path csv = dir.resolve("h.csv");
    Files.writeString(csv, "age,crp,y\n50,1.0,0\n61,high,1\n40,2.0,0\n");
    CloisterCommandTest.Run r = CloisterCommandTest.run("simulate", "--rounds", "1", "--epsilon", "3", "--dataset", "csv:" + csv, "--label", "y",
        "--out", dir.resolve("o").toString(), "--verbose");
    assertThat(r.code()).isNotZero();
    assertThat(r.err()).contains("\tat ");
  }

  @Test
  void oneLineSaysWhatAnExceptionWithoutAMessageMeans() {
    assertThat(CloisterCommand.describe(new java.io.UncheckedIOException(new java.nio.file.NoSuchFileException("/x/y.csv"))))
        .isEqualTo("no such file: /x/y.csv");
    assertThat(CloisterCommand.describe(new java.io.IOException("failed to bind",
        new java.net.BindException("Address already in use")))).contains("cannot bind the address: Address already in use");
    assertThat(CloisterCommand.describe(new IllegalStateException("a\nb"))).isEqualTo("a");
    // gRPC's message as `coordinator start` met it, with Netty's native cause (not a BindException): why, and what to do
    assertThat(CloisterCommand.describe(new java.io.IOException("Failed to bind to address /127.0.0.1:7443",
        new java.io.IOException("bind(..) failed: Address already in use"))))
        .isEqualTo("Failed to bind to address /127.0.0.1:7443: cannot bind the address: bind(..) failed: Address already"
            + " in use (another process holds the port: stop it or choose another port)");
    assertThat(CloisterCommand.describe(new java.io.IOException("Failed to bind to address /203.0.113.7:7443",
        new java.io.IOException("bind(..) failed: Cannot assign requested address"))))
        .contains("Cannot assign requested address").contains("not an address of this host");
  }
}

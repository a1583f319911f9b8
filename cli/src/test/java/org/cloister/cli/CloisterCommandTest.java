package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CloisterCommandTest {
  record Run(int code, String out, String err) {
  }

  static Run run(String... args) {
    CommandLine cl = CloisterCommand.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void helpListsTheSubcommands() {
    Run r = run("--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("demo").contains("bench");
  }

  @Test
  void unknownSubcommandOrOptionIsAUsageError() {
    Run r = run("frobnicate");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("Unmatched argument").contains("frobnicate").contains("Usage:");
    Run r2 = run("demo", "--no-such-flag");
    assertThat(r2.code()).isEqualTo(2);
    assertThat(r2.err()).contains("--no-such-flag");
  }

  @Test
  void missingSubcommandIsAUsageError() {
    Run r = run();
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("missing subcommand");
  }

  @Test
  void badDemoValuesNameTheOption() {
    Run r = run("demo", "--rounds", "0");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--rounds must be >= 1");
    Run r2 = run("demo", "--model", "resnet");
    assertThat(r2.code()).isEqualTo(2);
    assertThat(r2.err()).contains("unknown model 'resnet'");
    Run r3 = run("demo", "--rounds", "ten");
    assertThat(r3.code()).isEqualTo(2);
    assertThat(r3.err()).contains("--rounds");
  }

  @Test
  void simulateReportsScenarioAndFlagErrorsAsUsageErrors(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path bad = dir.resolve("bad.yaml");
    java.nio.file.Files.writeString(bad, "sitez: 3\n");
    Run r = run("simulate", bad.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("unknown key 'sitez'");
    Run r2 = run("simulate", "--partition", "stripes");
    assertThat(r2.code()).isEqualTo(2);
    assertThat(r2.err()).contains("unknown partition 'stripes'");
    Run r3 = run("simulate", "--dataset", "csv:" + dir.resolve("missing.csv"));
    assertThat(r3.code()).isNotZero();
  }
}

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

  /** A privacy switch that is not the YAML boolean false never turns DP off: exit 2 naming the key. */
  @Test
  void scenarioPrivacySwitchesFailClosed(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    for (String dp : java.util.List.of("dp: {enabled: \"true\", epsilon: 1}", "dp: {enabled: 1, epsilon: 1}", "dp:")) {
      java.nio.file.Path f = dir.resolve("s.yaml");
      java.nio.file.Files.writeString(f, dp + "\n");
      Run r = run("simulate", f.toString());
      assertThat(r.code()).as(dp).isEqualTo(2);
      assertThat(r.err()).as(dp).contains("'dp");
    }
  }

  /** Without any DP setting, simulate is private (and says which default it took), never silently non-private. */
  @Test
  void simulateIsPrivateByDefault(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    Run r = run("simulate", "--rounds", "1", "--json", "--out", dir.toString());
    assertThat(r.code()).isZero();
    assertThat(r.err()).contains("No DP settings given: DP-SGD within epsilon 3.0 at delta 1.0E-5");
    var results = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("results.json").toFile());
    assertThat(results.at("/config/dp/enabled").asBoolean()).isTrue();
    assertThat(results.at("/config/dp/epsilon").asDouble()).isEqualTo(3.0);
  }
}

package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Usage errors of the new simulate flags and the Synthea command's cache (no generator run). */
class SimulateAndSyntheaCommandTest {

  @Test
  void badSweepsAndOutcomesAreUsageErrorsNamingTheFlag() {
    var r = CloisterCommandTest.run("simulate", "--sweep", "gamma=1,2");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--sweep: unknown parameter 'gamma'");
    var r2 = CloisterCommandTest.run("simulate", "--no-dp", "--sweep", "clip=0.5,1");
    assertThat(r2.code()).isEqualTo(2);
    assertThat(r2.err()).contains("--sweep clip needs DP-SGD");
    var r3 = CloisterCommandTest.run("simulate", "--label", "x", "--outcome", "diabetes");
    assertThat(r3.code()).isEqualTo(2);
    assertThat(r3.err()).contains("--label").contains("--outcome");
  }

  @Test
  void syntheaRefusesBadArguments(@TempDir Path dir) {
    var r = CloisterCommandTest.run("synthea", "--ages", "90-18", "--out", dir.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--ages");
    var r2 = CloisterCommandTest.run("synthea", "--locations", ":Boston", "--out", dir.toString());
    assertThat(r2.code()).isEqualTo(2);
    assertThat(r2.err()).contains("--locations").contains(":Boston");
  }

  @Test
  void aSiteGeneratedWithTheSameSettingsIsReusedAndOtherwiseRegenerated(@TempDir Path dir) throws Exception {
    Path site = dir.resolve("site-1");
    Files.createDirectories(site.resolve("csv"));
    for (String f : new String[] {"patients.csv", "conditions.csv", "observations.csv"}) {
      Files.writeString(site.resolve("csv").resolve(f), "Id\np1\n");
    }
    Files.writeString(site.resolve("cohort.properties"), String.join("\n", "generator=org.mitre.synthea\\:synthea",
        "seed=7", "patients=5", "location=Texas\\:Houston", "ages=18-90", "files=patients.csv,conditions.csv,observations.csv", ""));
    Path noLib = dir.resolve("no-synthea-here");
    var cached = CloisterCommandTest.run("synthea", "--sites", "1", "--patients", "5", "--seed", "7", "--locations", "Texas:Houston",
        "--out", dir.toString(), "--synthea-lib", noLib.toString());
    assertThat(cached.code()).as(cached.err()).isZero();
    assertThat(cached.out()).contains("site-1: reusing the cached cohort").contains("(cached)");
    // the suggested next command is a private study, and it parses as one
    String next = cached.out().lines().filter(l -> l.startsWith("Next: ./cloister ")).findFirst().orElseThrow();
    assertThat(next).contains("--epsilon").doesNotContain("--no-dp");
    var parsed = CloisterCommand.commandLine().parseArgs(next.substring("Next: ./cloister ".length()).split(" "));
    assertThat(parsed.subcommand().commandSpec().name()).isEqualTo("simulate");

    // another patient count: regenerate, which needs the generator
    var changed = CloisterCommandTest.run("synthea", "--sites", "1", "--patients", "6", "--seed", "7", "--locations", "Texas:Houston",
        "--out", dir.toString(), "--synthea-lib", noLib.toString());
    assertThat(changed.code()).isNotZero();
    assertThat(changed.err()).contains("the Synthea generator is not in").contains("synthea-generator");
    assertThat(site.resolve("csv/patients.csv")).exists(); // nothing deleted before the generator is found
  }
}

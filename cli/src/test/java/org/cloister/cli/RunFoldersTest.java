package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every run its own output folder: no run silently replaces an earlier run's ledger. */
class RunFoldersTest {

  @Test
  void eachRunGetsAFolderOfItsOwnAndTheNameLinksToTheLatest(@TempDir Path out) throws Exception {
    Clock t = Clock.fixed(Instant.parse("2026-12-05T00:10:00Z"), ZoneOffset.UTC);
    // a folder from before runs had their own is kept, not replaced
    Files.createDirectories(out.resolve("demo"));
    Files.writeString(out.resolve("demo/coordinator.db"), "earlier ledger");
    Path first = RunFolders.next(out, "demo", t);
    Files.createDirectories(first); // what a run does
    RunFolders.linkLatest(out, "demo", first);
    Path second = RunFolders.next(out, "demo", t);
    Files.createDirectories(second);
    RunFolders.linkLatest(out, "demo", second);
    assertThat(first.getFileName().toString()).isEqualTo("demo-20261205-001000");
    assertThat(second).isNotEqualTo(first);
    assertThat(Files.isSymbolicLink(out.resolve("demo"))).isTrue();
    assertThat(out.resolve("demo").toRealPath()).isEqualTo(second.toRealPath());
    try (var s = Files.list(out)) {
      assertThat(s.filter(p -> Files.isRegularFile(p.resolve("coordinator.db"))).map(p -> {
        try {
          return Files.readString(p.resolve("coordinator.db"));
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).toList()).containsExactly("earlier ledger");
    }
  }

  @Test
  void aFileNamedThroughTheLatestLinkGoesIntoThisRunsFolder(@TempDir Path out) throws Exception {
    Path run = out.resolve("wdbc-20261205-001000");
    // docs/simulations.md: --report out/wdbc/report.html, printed as where the report is
    assertThat(RunFolders.intoRun(out, "wdbc", run, out.resolve("wdbc/report.html"))).isEqualTo(run.resolve("report.html"));
    assertThat(RunFolders.intoRun(out, "wdbc", run, out.resolve("wdbc/charts/r.html"))).isEqualTo(run.resolve("charts/r.html"));
    assertThat(RunFolders.intoRun(out, "wdbc", run, out.resolve("other/report.html"))).isEqualTo(out.resolve("other/report.html"));
    assertThat(RunFolders.intoRun(out, "wdbc", run, out.resolve("wdbc2/report.html"))).isEqualTo(out.resolve("wdbc2/report.html"));
  }

  @Test
  void aReportNamedAsTheDocsNameItLandsBesideItsRunsResults() throws Exception {
    // as docs/simulations.md: --report out/NAME/report.html without --out (here from cli/, into cli/out/, ignored by git).
    // It used to be written through the link to the previous run, which this run's link then moved away: the
    // printed path held no report.
    CloisterCommandTest.Run r = CloisterCommandTest.run("simulate", "--rounds", "1", "--epsilon", "3", "--report",
        "out/simulation/report.html");
    assertThat(r.code()).as(r.err()).isZero();
    java.util.regex.Matcher printed = java.util.regex.Pattern.compile("(?m)^Report: (.+)$").matcher(r.out());
    assertThat(printed.find()).as(r.out()).isTrue();
    Path report = Path.of(printed.group(1));
    assertThat(report).as("the report where the output says it is").isRegularFile();
    assertThat(report.resolveSibling("results.json")).as("beside its run's results").isRegularFile();
    assertThat(Path.of("out/simulation/report.html").toRealPath()).isEqualTo(report.toRealPath());
  }

  @Test
  void anExplicitOutWithAnEarlierLedgerIsRefused(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("run");
    CloisterCommandTest.Run first = CloisterCommandTest.run("simulate", "--rounds", "1", "--epsilon", "3", "--out", out.toString());
    assertThat(first.code()).as(first.err()).isZero();
    byte[] ledger = Files.readAllBytes(out.resolve("coordinator.db"));
    CloisterCommandTest.Run again = CloisterCommandTest.run("simulate", "--rounds", "1", "--epsilon", "3", "--out", out.toString());
    assertThat(again.code()).isEqualTo(2);
    assertThat(again.err()).contains("holds an earlier run's ledger (coordinator.db)");
    assertThat(Files.readAllBytes(out.resolve("coordinator.db"))).isEqualTo(ledger);
  }
}

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

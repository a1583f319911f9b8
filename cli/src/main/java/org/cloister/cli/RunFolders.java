package org.cloister.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Output folders of runs: every run gets its own, so that no run silently replaces an earlier run's
 * ledger. Without {@code --out} a run named N writes into {@code out/N-yyyyMMdd-HHmmss} and
 * {@code out/N} becomes a link to the latest run (the paths the docs use keep working); an explicit
 * {@code --out} that holds an earlier run's ledger is refused.
 */
final class RunFolders {
  static final String LEDGER = "coordinator.db";
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  private RunFolders() {
  }

  /** A folder {@code parent/name-TIMESTAMP} (UTC) that does not exist yet: the run creates it. */
  static Path next(Path parent, String name, Clock clock) {
    String stamp = STAMP.format(clock.instant());
    Path dir = parent.resolve(name + "-" + stamp);
    for (int n = 2; Files.exists(dir, LinkOption.NOFOLLOW_LINKS); n++) {
      dir = parent.resolve(name + "-" + stamp + "-" + n);
    }
    return dir;
  }

  /**
   * After a run wrote {@code dir}: {@code parent/name} becomes a link to it. A real folder of that name
   * (written before runs had their own) is kept, renamed after its time; nothing is deleted.
   */
  static void linkLatest(Path parent, String name, Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return; // the run stopped before writing anything
    }
    Path latest = parent.resolve(name);
    if (Files.isSymbolicLink(latest)) {
      Files.delete(latest);
    } else if (Files.exists(latest)) {
      Path kept = next(parent, name, Clock.fixed(Instant.ofEpochMilli(Files.getLastModifiedTime(latest).toMillis()),
          ZoneOffset.UTC));
      Files.move(latest, kept);
    }
    try {
      Files.createSymbolicLink(latest, dir.getFileName());
    } catch (IOException | UnsupportedOperationException e) {
      // no links on this file system: the run's own folder is printed with its results
    }
  }

  /**
   * Where a file the user named inside {@code parent/name/} (the link to the latest run, e.g.
   * {@code --report out/NAME/report.html}) goes for the run writing {@code dir}: into that run's folder, beside
   * its results (the link moves to it when the run ends; written through the old link it would land in an
   * earlier run's folder, or in a folder the link then replaces). Any other path is returned as given.
   */
  static Path intoRun(Path parent, String name, Path dir, Path file) {
    Path latest = parent.resolve(name).toAbsolutePath().normalize();
    Path f = file.toAbsolutePath().normalize();
    if (!f.startsWith(latest) || f.equals(latest)) {
      return file;
    }
    return dir.resolve(latest.relativize(f).toString());
  }

  /**
   * Refuses an explicit output folder that holds an earlier run's ledger.
   *
   * @throws IllegalArgumentException naming the folder and what to do
   */
  static void requireNoEarlierRun(Path out) {
    boolean earlier = Files.exists(out.resolve(LEDGER));
    if (!earlier && Files.isDirectory(out)) { // a sweep: one run per sub-folder
      try (var s = Files.list(out)) {
        earlier = s.anyMatch(d -> Files.exists(d.resolve(LEDGER)));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    if (earlier) {
      throw new IllegalArgumentException("--out " + out + " holds an earlier run's ledger (" + LEDGER + "): choose "
          + "another folder, or delete that one to start over (runs never overwrite a ledger)");
    }
  }
}

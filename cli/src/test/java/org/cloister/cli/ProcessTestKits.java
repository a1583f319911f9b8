package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.cloister.cli.processes.CloisterProcess;

/**
 * What the tests that run a provisioned consortium as real processes share ({@code ChaosTest},
 * {@code DeploymentWalkthroughTest}, {@code FederatedEvaluationProcessTest}, {@code ServiceProcessTest}): editing a kit's
 * files, each site's third of WDBC as its data, waiting for a log line, and the processes a test started.
 */
final class ProcessTestKits {
  private ProcessTestKits() {
  }

  /** Replaces {@code from} by {@code to} in {@code file}, which must contain it (a kit's template changed: fail here). */
  static void edit(Path file, String from, String to) throws IOException {
    String s = Files.readString(file);
    assertThat(s).contains(from);
    Files.writeString(file, s.replace(from, to));
  }

  /** Writes {@code spec} (a consortium.yaml) to {@code dir/c.yaml} and provisions it into {@code dir/kits}: the kits folder. */
  static Path provision(Path dir, String spec) throws IOException {
    Path file = dir.resolve("c.yaml");
    Files.writeString(file, spec);
    Path kits = dir.resolve("kits");
    CloisterCommandTest.Run provisioned = CloisterCommandTest.run("provision", file.toString(), "--out", kits.toString());
    assertThat(provisioned.code()).as(provisioned.err()).isZero();
    return kits;
  }

  /** WDBC's rows in CSV, header first (the shipped copy, from the class path). */
  static List<String> wdbcLines() throws IOException {
    try (var in = ProcessTestKits.class.getResourceAsStream("/org/cloister/data/datasets/wdbc.csv")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    }
  }

  /**
   * Gives each of the kits' {@code sites} sites ({@code site-1} ...) every {@code sites}-th row of WDBC as its
   * {@code data.csv} (site-N: rows N, N + sites, ...) and names the label column in its {@code site.yaml}.
   */
  static void splitWdbc(Path kits, int sites) throws IOException {
    List<String> lines = wdbcLines();
    for (int s = 0; s < sites; s++) {
      StringBuilder b = new StringBuilder(lines.get(0)).append('\n');
      for (int i = 1 + s; i < lines.size(); i += sites) {
        b.append(lines.get(i)).append('\n');
      }
      Path site = kits.resolve("site-" + (s + 1));
      Files.writeString(site.resolve("data.csv"), b.toString());
      edit(site.resolve("site.yaml"), "label: label", "label: malignant");
    }
  }

  /**
   * {@code line} of a service's log without the timestamp the service writes first ({@link ServiceLog}): what a test
   * matches a line's start against ({@code coordinator: study ...}, {@code round N ...}, {@code site: ...}).
   */
  static String stripTimestamp(String line) {
    return ServiceLog.strip(line);
  }

  /** The lines of a service's log {@code log} (none if it does not exist yet), each without its timestamp. */
  static List<String> lines(Path log) throws IOException {
    return Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8).stream()
        .map(ProcessTestKits::stripTimestamp).toList() : List.of();
  }

  /**
   * The first line of {@code log} that {@code line} finds (without its timestamp: {@code ^} anchors at what the
   * service printed), waiting up to {@code seconds}; fails with the log otherwise.
   */
  static String awaitLine(Path log, Pattern line, long seconds) throws Exception {
    long until = System.currentTimeMillis() + seconds * 1000;
    while (System.currentTimeMillis() < until) {
      if (Files.exists(log)) {
        for (String l : lines(log)) {
          if (line.matcher(l).find()) {
            return l;
          }
        }
      }
      Thread.sleep(200);
    }
    throw new AssertionError("no line matching " + line + " in " + log + ":\n"
        + (Files.exists(log) ? Files.readString(log) : "(no log)"));
  }

  /** The processes a test started ({@link CloisterProcess}); {@link #killAll} after each test, their children first. */
  static final class Started {
    private final List<Process> processes = new ArrayList<>();

    Process start(Path log, String... args) throws IOException {
      Process p = CloisterProcess.start(log, args);
      processes.add(p);
      return p;
    }

    /** Kills every process started and its children (a coordinator's key broker and enclave). */
    void killAll() {
      for (Process p : processes) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      }
    }
  }
}

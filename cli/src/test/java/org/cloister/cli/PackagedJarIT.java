package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runnable jar as it ships: {@code java -jar cli/target/cloister.jar} with its {@code lib/} and
 * {@code enclave/} beside it, on a one-round demo that loads ND4J and the DP-SGD trainers, launches
 * the enclave and key broker processes, and runs the round over mTLS. The unit tests run on Maven's
 * test class path, which a test-scoped dependency can make differ from the jar's manifest class path
 * (5 December 2026: commons-compress at test scope took commons-lang3 out of {@code lib/}, and the
 * shipped jar failed at start with {@code NoClassDefFoundError}). Runs in the {@code verify} phase
 * (the {@code packaged-jar} execution in cli/pom.xml), after {@code package} wrote the jar.
 */
class PackagedJarIT {

  @Test
  void theShippedJarRunsAOneRoundDemo(@TempDir Path dir) throws Exception {
    Path jar = Path.of("target", "cloister.jar").toAbsolutePath();
    assertThat(jar).as("the runnable jar (mvn package writes it)").exists();
    assertThat(jar.resolveSibling("lib")).isDirectory();
    Path log = dir.resolve("demo.log");
    Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-jar", jar.toString(),
        "demo", "--rounds", "1", "--out", dir.resolve("out").toString()))
        .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    // a generous cap, not a timing assertion: about 45 s on a loaded 2-core machine
    boolean exited = p.waitFor(10, TimeUnit.MINUTES);
    if (!exited) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
    String out = Files.readString(log, StandardCharsets.UTF_8);
    assertThat(exited).as("the demo did not end within 10 minutes:%n%s", out).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).as(out)
        .contains("Study demo-wdbc: finished: 1 rounds completed")
        .contains("DP-SGD: noise multiplier")
        .contains("Final global model on ")
        .doesNotContain("NoClassDefFoundError", "ClassNotFoundException");
    assertThat(dir.resolve("out/results.json")).exists();
  }
}

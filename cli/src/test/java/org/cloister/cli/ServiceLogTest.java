package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The services' timestamp: on every line, one formatter, and the helper that takes it off again. */
class ServiceLogTest {

  @Test
  void everyLineGetsTheTimeItStarted() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = ServiceLog.timestamping(new PrintStream(bytes, true, StandardCharsets.UTF_8),
        Clock.fixed(Instant.parse("2026-12-05T09:49:26.669Z"), ZoneOffset.UTC));
    out.println("coordinator: study s, 3 rounds");
    out.print("round 1 (attempt 1): ");
    out.println("aggregated");
    out.print("multi\nline\n");
    out.println();
    String s = bytes.toString(StandardCharsets.UTF_8);
    assertThat(s.lines().toList()).containsExactly(
        "2026-12-05T09:49:26.669Z coordinator: study s, 3 rounds",
        "2026-12-05T09:49:26.669Z round 1 (attempt 1): aggregated",
        "2026-12-05T09:49:26.669Z multi",
        "2026-12-05T09:49:26.669Z line",
        "2026-12-05T09:49:26.669Z ");
  }

  @Test
  void aLastLineWithoutItsNewlineIsWrittenAtTheEndOfTheStreamAndNotBefore() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ServiceLog.Stamped out = ServiceLog.timestamping(new PrintStream(bytes, true, StandardCharsets.UTF_8),
        Clock.fixed(Instant.parse("2026-12-05T09:49:26.669Z"), ZoneOffset.UTC));
    out.println("coordinator: study s, 3 rounds");
    out.print("last words");
    out.flush();
    // a partial line waits for its end: flushing writes nothing of it
    assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo("2026-12-05T09:49:26.669Z coordinator: study s, 3 rounds"
        + System.lineSeparator());
    out.endOfStream();
    assertThat(bytes.toString(StandardCharsets.UTF_8).lines().toList()).containsExactly(
        "2026-12-05T09:49:26.669Z coordinator: study s, 3 rounds",
        "2026-12-05T09:49:26.669Z last words");
    assertThat(bytes.toString(StandardCharsets.UTF_8)).endsWith(System.lineSeparator());
    // nothing pending: the end writes nothing more, and the stream still stamps what comes after (another exit hook)
    out.endOfStream();
    out.println("after");
    assertThat(bytes.toString(StandardCharsets.UTF_8).lines().toList()).containsExactly(
        "2026-12-05T09:49:26.669Z coordinator: study s, 3 rounds",
        "2026-12-05T09:49:26.669Z last words",
        "2026-12-05T09:49:26.669Z after");
  }

  /** A service (its streams timestamped as {@code cloister broker run}'s) that prints last words without a newline. */
  public static final class LastWords {
    public static void main(String[] args) {
      CloisterCommand.timestampServiceLogs(new String[] {"broker", "run"});
      System.out.println("first line");
      System.out.print("last words");
      System.err.print("and on standard error");
      System.exit(3);
    }
  }

  @Test
  void aServiceThatExitsAfterALineWithoutItsNewlineDoesNotLoseIt(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("service.log");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), LastWords.class.getName())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(3);
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    assertThat(lines).allSatisfy(l -> assertThat(ServiceLog.timestamped(l)).as(l).isTrue());
    assertThat(lines.stream().map(ServiceLog::strip).toList())
        .containsExactlyInAnyOrder("first line", "last words", "and on standard error");
  }

  @Test
  void theOffsetIsTheHostsAndTheSameFormatAsSlf4jWasGiven() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = ServiceLog.timestamping(new PrintStream(bytes, true, StandardCharsets.UTF_8),
        Clock.fixed(Instant.parse("2026-12-05T09:49:26.669Z"), ZoneId.of("Europe/Paris")));
    out.println("site: round 1: update accepted");
    assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo("2026-12-05T10:49:26.669+01:00 site: round 1: update accepted"
        + System.lineSeparator());
  }

  @Test
  void stripTakesOffTheLeadingTimestampOnly() {
    assertThat(ServiceLog.strip("2026-12-05T10:49:26.669+01:00 site: round 1")).isEqualTo("site: round 1");
    assertThat(ServiceLog.strip("2026-12-05T09:49:26.669Z round 2 at 2026-12-05T09:49:26.669Z"))
        .isEqualTo("round 2 at 2026-12-05T09:49:26.669Z");
    assertThat(ServiceLog.strip("round 3")).isEqualTo("round 3");
    assertThat(ServiceLog.timestamped("round 3")).isFalse();
  }

  @Test
  void onlyServicesAreTimestamped() {
    assertThat(CloisterCommand.isService(new String[] {"coordinator", "start", "--config", "c.yaml"})).isTrue();
    assertThat(CloisterCommand.isService(new String[] {"--verbose", "site", "start", "--config", "s.yaml"})).isTrue();
    assertThat(CloisterCommand.isService(new String[] {"infer", "serve", "--kit", "k"})).isTrue();
    assertThat(CloisterCommand.isService(new String[] {"broker", "run"})).isTrue();
    assertThat(CloisterCommand.isService(new String[] {"enclave", "run"})).isTrue();
    // interactive commands print their results as they are
    assertThat(CloisterCommand.isService(new String[] {"infer", "query", "--host", "h:1"})).isFalse();
    assertThat(CloisterCommand.isService(new String[] {"broker", "key", "disable", "k"})).isFalse();
    assertThat(CloisterCommand.isService(new String[] {"simulate", "examples/demo.yaml"})).isFalse();
    assertThat(CloisterCommand.isService(new String[] {"status"})).isFalse();
  }
}

package org.cloister.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.regex.Pattern;

/**
 * The timestamp on every line a service prints ({@code coordinator start}, {@code site start}, {@code broker run},
 * {@code enclave run}, {@code infer serve}): its SLF4J log lines, its plain progress lines ({@code coordinator: ...},
 * {@code round N ...}, {@code site: ...}) and its children's forwarded lines all begin with the time they were
 * written, ISO 8601 with the UTC offset, then one space. One formatter, applied to the service's standard output and
 * error streams: SLF4J's simple logger writes to the latter and adds no time of its own.
 */
public final class ServiceLog {
  /** The timestamp's format, e.g. {@code 2026-12-05T09:49:26.669Z}. */
  public static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
  /** A line's leading timestamp and the space after it. */
  private static final Pattern LEADING = Pattern.compile(
      "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(?:Z|[+-]\\d\\d:\\d\\d) ");

  private ServiceLog() {
  }

  /** Whether {@code line} begins with a service timestamp. */
  public static boolean timestamped(String line) {
    return LEADING.matcher(line).find();
  }

  /** {@code line} without its leading service timestamp (unchanged when it has none): what a reader matches on. */
  public static String strip(String line) {
    return LEADING.matcher(line).replaceFirst("");
  }

  /** A stream that writes each line to {@code target} with the time ({@code clock}) its first character came. */
  public static Stamped timestamping(PrintStream target, Clock clock) {
    return new Stamped(new LineStamper(target, clock));
  }

  /**
   * A timestamping stream. A line is written when it ends; a last line without its newline waits for
   * {@link #endOfStream} (or {@link #close}), which the services call as the JVM exits.
   */
  public static final class Stamped extends PrintStream {
    private final LineStamper stamper;

    private Stamped(LineStamper stamper) {
      super(stamper, true, StandardCharsets.UTF_8);
      this.stamper = stamper;
    }

    /**
     * The end of the stream: a line still waiting for its newline is written now, stamped like any other line (with
     * the time its first character came) and ended with a line separator. The stream stays open: what comes after
     * (another exit hook's line) is stamped as usual.
     */
    public void endOfStream() {
      flush(); // what this PrintStream's encoder still holds
      stamper.endOfStream();
    }
  }

  /**
   * Buffers a line and writes it whole, timestamp first, when it ends; a partial line at the end of the stream
   * ({@link #endOfStream}, {@link #close}).
   */
  private static final class LineStamper extends OutputStream {
    private final PrintStream target;
    private final Clock clock;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private String started;

    LineStamper(PrintStream target, Clock clock) {
      this.target = target;
      this.clock = clock;
    }

    @Override
    public synchronized void write(int b) {
      if (started == null) {
        started = TIMESTAMP.format(ZonedDateTime.now(clock)) + " ";
      }
      line.write(b);
      if (b == '\n') {
        emit();
      }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      for (int i = off; i < off + len; i++) {
        write(b[i]);
      }
    }

    private void emit() {
      if (started == null) {
        return;
      }
      byte[] stamp = started.getBytes(StandardCharsets.UTF_8);
      synchronized (target) {
        target.write(stamp, 0, stamp.length);
        target.write(line.toByteArray(), 0, line.size());
        target.flush();
      }
      line.reset();
      started = null;
    }

    @Override
    public synchronized void flush() throws IOException {
      // a partial line waits for its end: a line is written once, with one timestamp
      target.flush();
    }

    synchronized void endOfStream() {
      if (started != null) {
        line.writeBytes(System.lineSeparator().getBytes(StandardCharsets.UTF_8));
        emit();
      }
      target.flush();
    }

    @Override
    public synchronized void close() {
      endOfStream();
    }
  }
}

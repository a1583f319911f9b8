package org.cloister.broker;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every release and refusal of a key, and every administrative change, as one JSON line in an
 * append-only file (and a log line). Entries name the key, the operation, the outcome and the
 * requester's measurements, never key material. Each entry is forced to the disk ({@code fsync})
 * before {@link #record} returns, so a key is never released with an audit entry still in a buffer;
 * a failed write raises {@link AuditFailure} and the broker releases nothing.
 */
public final class AuditLog implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(AuditLog.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Clock clock;
  private final FileChannel out;

  /** A write to the audit log that failed: the operation it would have recorded must not happen. */
  public static final class AuditFailure extends IllegalStateException {
    AuditFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  public AuditLog(Path file, Clock clock) throws IOException {
    this.clock = clock;
    this.out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
  }

  /**
   * @param event    {@code release}, {@code refusal} or {@code admin}
   * @param fields   operation, key_id, reason, module_id, pcr0... (no secrets)
   */
  public synchronized void record(String event, Map<String, ?> fields) {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("time", clock.instant().toString());
    entry.put("event", event);
    entry.putAll(fields);
    try {
      String line = JSON.writeValueAsString(entry);
      ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        out.write(bytes);
      }
      out.force(true);
      if ("refusal".equals(event)) {
        log.warn("key broker refusal: {}", line);
      } else {
        log.info("key broker {}: {}", event, line);
      }
    } catch (IOException e) {
      // an audit failure must not be silent
      throw new AuditFailure("cannot write the key broker audit log: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized void close() throws IOException {
    out.close();
  }
}

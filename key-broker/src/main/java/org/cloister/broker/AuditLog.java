package org.cloister.broker;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
 * requester's measurements, never key material.
 */
public final class AuditLog implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(AuditLog.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Clock clock;
  private final BufferedWriter out;

  public AuditLog(Path file, Clock clock) throws IOException {
    this.clock = clock;
    this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND, StandardOpenOption.WRITE);
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
      out.write(line);
      out.newLine();
      out.flush();
      if ("refusal".equals(event)) {
        log.warn("key broker refusal: {}", line);
      } else {
        log.info("key broker {}: {}", event, line);
      }
    } catch (IOException e) {
      // an audit failure must not be silent
      throw new IllegalStateException("cannot write the key broker audit log: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized void close() throws IOException {
    out.close();
  }
}

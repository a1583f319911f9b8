package org.cloister.inference.enclave;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The inference enclave's audit records, one JSON line each: time, event, model version, client
 * identity (as the host's transport authenticated it), request id, number of rows and outcome.
 * There is deliberately no field for a query or prediction value. Thread-safe. Written on Jackson's
 * streaming core (the lines databind wrote for these maps; no databind in the measured image).
 */
final class AuditTrail implements java.io.Closeable {
  private static final JsonFactory JSON = new JsonFactory();
  private final BufferedWriter out;
  private final Clock clock;

  AuditTrail(Path file, Clock clock) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    this.clock = clock;
  }

  /** One inference request. {@code outcome}: ok, input_error, undecryptable, no_model. */
  void request(long modelVersion, String clientId, String requestId, int rows, String outcome) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("time", clock.instant().toString());
    r.put("event", "inference");
    r.put("model_version", modelVersion);
    r.put("client_id", clientId == null || clientId.isEmpty() ? "unauthenticated" : clientId);
    r.put("request_id", requestId);
    r.put("rows", rows);
    r.put("outcome", outcome);
    write(r);
  }

  /** A life-cycle event (model loaded, dropped) with its non-secret details. */
  void event(String event, Map<String, Object> details) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("time", clock.instant().toString());
    r.put("event", event);
    r.putAll(details);
    write(r);
  }

  private synchronized void write(Map<String, Object> record) {
    try {
      out.write(line(record));
      out.newLine();
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the audit record: " + e.getMessage(), e);
    }
  }

  /** One record as a compact JSON object; values are strings, integers or booleans (the only ones recorded). */
  static String line(Map<String, Object> record) throws IOException {
    StringWriter w = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(w)) {
      g.writeStartObject();
      for (Map.Entry<String, Object> e : record.entrySet()) {
        g.writeFieldName(e.getKey());
        Object v = e.getValue();
        if (v == null) {
          g.writeNull();
        } else if (v instanceof String str) {
          g.writeString(str);
        } else if (v instanceof Integer || v instanceof Long) {
          g.writeNumber(((Number) v).longValue());
        } else if (v instanceof Boolean b) {
          g.writeBoolean(b);
        } else {
          throw new IllegalArgumentException("audit field " + e.getKey() + ": a " + v.getClass().getSimpleName()
              + " is not recorded (strings, integers and booleans only)");
        }
      }
      g.writeEndObject();
    }
    return w.toString();
  }

  @Override
  public synchronized void close() throws IOException {
    out.close();
  }
}

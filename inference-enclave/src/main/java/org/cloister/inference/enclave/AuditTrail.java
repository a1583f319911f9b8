package org.cloister.inference.enclave;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
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
 * There is deliberately no field for a query or prediction value. Thread-safe.
 */
final class AuditTrail implements java.io.Closeable {
  private static final ObjectMapper JSON = new ObjectMapper();
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
      out.write(JSON.writeValueAsString(record));
      out.newLine();
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the audit record: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized void close() throws IOException {
    out.close();
  }
}

package org.cloister.observability;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves a registry's metrics at {@code GET /metrics} in the Prometheus text format, on the
 * address it is given (loopback unless the operator chooses otherwise). Metrics carry counts and
 * durations only: no patient data, no update values.
 */
public final class PrometheusEndpoint implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PrometheusEndpoint.class);
  private final HttpServer server;

  public PrometheusEndpoint(InetSocketAddress address, PrometheusMeterRegistry registry) throws IOException {
    server = HttpServer.create(address, 0);
    server.createContext("/metrics", exchange -> {
      try (exchange) {
        if (!"GET".equals(exchange.getRequestMethod())) {
          exchange.sendResponseHeaders(405, -1);
          return;
        }
        byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream os = exchange.getResponseBody()) {
          os.write(body);
        }
      }
    });
    server.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "metrics-http");
      t.setDaemon(true);
      return t;
    }));
  }

  public PrometheusEndpoint start() {
    server.start();
    log.info("metrics at http://{}:{}/metrics", server.getAddress().getHostString(), port());
    return this;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}

package org.cloister.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

class PrometheusEndpointTest {
  @Test
  void servesCountersInPrometheusFormat() throws Exception {
    PrometheusMeterRegistry reg = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    reg.counter("cloister.test.things", "reason", "replayed").increment(3);
    try (PrometheusEndpoint ep = new PrometheusEndpoint(new InetSocketAddress("127.0.0.1", 0), reg).start()) {
      HttpResponse<String> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ep.port() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("cloister_test_things_total{reason=\"replayed\"} 3.0");
    }
  }
}

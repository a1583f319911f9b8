package org.cloister.enclave;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.cloister.aggregation.strategy.StrategySpec;
import org.junit.jupiter.api.Test;

/**
 * The enclave's measured configuration (PCR1) and policy (PCR2) keep their bytes now that the image binds them on
 * Jackson's streaming core instead of databind: the independent reference, databind with the settings the image
 * used before, writes the same bytes and reads the same records, so files provisioned before keep their PCRs.
 */
class MeasuredFilesTest {
  private static final ObjectMapper DATABIND = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .enable(SerializationFeature.INDENT_OUTPUT);

  @Test
  void configurationAndPolicyBytesAreThoseDatabindWrote() throws Exception {
    EnclaveConfig config = new EnclaveConfig(EnclaveConfig.FORMAT, "cloister-enclave", List.of(
        new EnclaveConfig.Member("site-1", "site", "ab".repeat(32)),
        new EnclaveConfig.Member("observer.x", "observer", "0F".repeat(32))),
        EnclaveStartTest.CA, new EnclaveConfig.KeyBroker("kek-1", EnclaveStartTest.CA, "broker.local"));
    assertThat(new String(config.toJson(), StandardCharsets.UTF_8))
        .isEqualTo(new String(DATABIND.writeValueAsBytes(config), StandardCharsets.UTF_8));
    assertThat(EnclaveConfig.parse(DATABIND.writeValueAsBytes(config))).isEqualTo(config)
        .isEqualTo(DATABIND.readValue(config.toJson(), EnclaveConfig.class));

    for (AggregationPolicy policy : List.of(
        new AggregationPolicy(AggregationPolicy.FORMAT, "study-1", "logreg", 31, 0.5, 3, 3, null, AggregationPolicy.FEDAVG),
        new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 1_000_000, 12.25, 5, 4,
            new AggregationPolicy.CentralDp(1.0, 1.1, 10, 50, 1e-5),
            new StrategySpec("fedadam", Map.of("server_lr", 0.05, "beta1", 0.9, "beta2", 0.99, "tau", 1e-3))),
        new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 10, 1.0, 3, 3, null,
            new StrategySpec("trimmed_mean", Map.of("trim", 0.1, "server_lr", 1.0))))) {
      assertThat(new String(policy.toJson(), StandardCharsets.UTF_8))
          .isEqualTo(new String(DATABIND.writeValueAsBytes(policy), StandardCharsets.UTF_8));
      assertThat(AggregationPolicy.parse(policy.toJson())).isEqualTo(policy)
          .isEqualTo(DATABIND.readValue(policy.toJson(), AggregationPolicy.class));
    }
  }

  @Test
  void aPolicyThatDatabindCoercedIsNowRefused() {
    String policy = new String(new AggregationPolicy(AggregationPolicy.FORMAT, "s", "m", 10, 1.0, 3, 3, null,
        AggregationPolicy.FEDAVG).toJson(), StandardCharsets.UTF_8);
    // databind read "3" and 3.9 as the int 3; a measured file says what it means or is refused
    assertThatThrownBy(() -> AggregationPolicy.parse(policy.replace("\"cohort_floor\" : 3", "\"cohort_floor\" : \"3\"")
        .getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("aggregation policy is not valid: expected an integer, got a string at $.cohort_floor");
    assertThatThrownBy(() -> AggregationPolicy.parse(policy.replace("\"min_updates\" : 3", "\"min_updates\" : 3.9")
        .getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("expected an integer, got a fractional number at $.min_updates");
    assertThatThrownBy(() -> AggregationPolicy.parse(policy.replace("\"min_updates\" : 3", "\"surprise\" : 1, \"min_updates\" : 3")
        .getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("unknown field \"surprise\"");
  }
}

package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimulateAuditCommandTest {

  @Test
  void auditCanariesPutEachSitesBoundBesideThePlannedEpsilonInResultsAndReport(@TempDir Path dir) throws Exception {
    Path html = dir.resolve("report.html");
    var r = CloisterCommandTest.run("simulate", "--sites", "2", "--rounds", "2", "--local-steps", "10",
        "--sampling-rate", "0.1", "--epsilon", "4", "--seed", "3", "--audit-canaries", "200",
        "--out", dir.toString(), "--report", html.toString());
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode audit = new ObjectMapper().readTree(dir.resolve("results.json").toFile()).get("audit");
    assertThat(audit).hasSize(2);
    for (JsonNode a : audit) {
      assertThat(a.get("verdict").asText()).isEqualTo("consistent");
      assertThat(a.get("canaries").asInt()).isEqualTo(200);
      assertThat(a.get("steps").asInt()).isEqualTo(20);
      assertThat(a.get("noise_multiplier").asDouble()).isPositive();
      assertThat(a.get("epsilon_lower_bound").asDouble()).isLessThanOrEqualTo(a.get("epsilon_upper_bound").asDouble());
    }
    assertThat(Files.readString(html)).contains("id=\"audit-table\"", "consistent", "planned epsilon");
  }

  @Test
  void auditWithoutDpIsAUsageError() {
    var r = CloisterCommandTest.run("simulate", "--no-dp", "--rounds", "1", "--audit-canaries", "100");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--audit-canaries").contains("without DP");
  }
}

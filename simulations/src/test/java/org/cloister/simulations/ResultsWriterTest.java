package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** results.json has the structure issue 7 specifies, and rounds.csv the same per-round figures. */
class ResultsWriterTest {

  @Test
  void resultsJsonHasTheDocumentedStructure(@TempDir Path out) throws Exception {
    SimulationResult r = SyntheticResults.study(3, 4, 1.0, 0.95, out);
    Path json = new ResultsWriter().write(r, out);
    JsonNode root = new ObjectMapper().readTree(Files.readString(json));

    assertThat(root.get("rounds").isArray()).isTrue();
    assertThat(root.get("rounds")).hasSize(4);
    for (int i = 0; i < 4; i++) {
      JsonNode round = root.get("rounds").get(i);
      assertThat(round.get("round").asInt()).isEqualTo(i + 1);
      assertThat(round.get("accuracy").isNumber()).isTrue();
      assertThat(round.get("auc").isNumber()).isTrue();
      assertThat(round.get("loss").isNumber()).isTrue();
      assertThat(round.get("sites").isArray()).isTrue();
      assertThat(round.get("sites").get(0).asText()).isEqualTo("site-1");
      assertThat(round.get("epsilon").get("site-1").asDouble()).isEqualTo(r.rounds().get(i).siteEpsilon().get("site-1"));
    }
    assertThat(root.at("/rounds/1/left_out/site-1").asText()).isEqualTo("no update before the deadline");
    assertThat(root.at("/final/accuracy").asDouble()).isEqualTo(0.95);
    assertThat(root.at("/final/auc").asDouble()).isEqualTo(0.98);
    assertThat(root.get("sites")).hasSize(3);
    assertThat(root.at("/sites/2/id").asText()).isEqualTo("site-3");
    assertThat(root.at("/sites/2/examples").asInt()).isEqualTo(102);
    assertThat(root.at("/sites/0/epsilon").asDouble()).isEqualTo(1.0);
    assertThat(root.at("/sites/0/delta").asDouble()).isEqualTo(1e-5);
    assertThat(root.at("/config/partition").asText()).isEqualTo("dirichlet:0.5");
    assertThat(root.at("/config/dp/epsilon").asDouble()).isEqualTo(1.0);
    assertThat(root.at("/config/noise_multiplier_used").asDouble()).isEqualTo(3.21);

    List<String> csv = Files.readAllLines(out.resolve("rounds.csv"));
    assertThat(csv.get(0)).isEqualTo("round,model_version,sites,accuracy,auc,loss,max_epsilon,duration_ms");
    assertThat(csv).hasSize(5);
    String[] last = csv.get(4).split(",");
    assertThat(Double.parseDouble(last[3])).isEqualTo(0.95);
    assertThat(Double.parseDouble(last[6])).isEqualTo(1.0);
  }

  @Test
  void aLargeStudyKeepsResultsJsonToSummariesAndEverySiteInSitesCsv(@TempDir Path out) throws Exception {
    SimulationResult r = SyntheticResults.study(1000, 3, 2.0, 0.9, out);
    Path json = new ResultsWriter().write(r, out);
    JsonNode root = new ObjectMapper().readTree(Files.readString(json));
    assertThat(root.at("/rounds/0/sites_aggregated").asInt()).isEqualTo(1000);
    assertThat(root.at("/rounds/0/sites").isMissingNode()).isTrue();
    assertThat(root.at("/rounds/1/left_out/no update before the deadline").asInt()).isEqualTo(1);
    assertThat(root.at("/rounds/2/epsilon/max").asDouble()).isEqualTo(2.0);
    assertThat(root.at("/rounds/2/epsilon/min").asDouble()).isEqualTo(r.sites().get(999).epsilon());
    assertThat(root.at("/sites/count").asInt()).isEqualTo(1000);
    assertThat(root.at("/sites/examples/min").asDouble()).isEqualTo(100);
    assertThat(root.at("/sites/examples/max").asDouble()).isEqualTo(1099);
    assertThat(root.at("/sites/epsilon/max").asDouble()).isEqualTo(2.0);
    assertThat(Files.size(json)).isLessThan(20_000);

    List<String> csv = Files.readAllLines(out.resolve("sites.csv"));
    assertThat(csv).hasSize(1001);
    assertThat(csv.get(0)).isEqualTo("site,examples,rounds_contributed,epsilon,delta");
    assertThat(csv.get(1000)).startsWith("site-1000,1099,3,");
  }
}

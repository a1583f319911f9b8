package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.cloister.cli.ProcessTestKits.edit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.ComposedEvent;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.DpEventJson;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.protocol.v1.PrivacySpend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18, "utility in deployments": a provisioned consortium with federated evaluation on, the coordinator (with
 * its key broker and enclave) and three sites as separate processes over mTLS; the operator's {@code cloister status
 * --json} shows each round's accuracy and AUC from the sites' noised held-out histograms, every site's signed spend
 * carries the evaluation's Gaussian event, and a configuration with evaluation on but no noise is refused.
 * About 100 s on the shared machine: behind {@code -Pslow} ({@code FederatedEvaluationConfigTest} checks the refusals
 * in the default suite).
 */
@Tag("slow")
class FederatedEvaluationProcessTest {
  private static final double EVAL_Z = 10.0;
  private final ProcessTestKits.Started processes = new ProcessTestKits.Started();

  @AfterEach
  void killAll() {
    processes.killAll();
  }

  private Path provision(Path dir, int port) throws Exception {
    Path kits = ProcessTestKits.provision(dir, "consortium: wdbc\ncoordinator: {host: 127.0.0.1, port: " + port + "}\n"
        + "sites: [site-1, site-2, site-3]\nstudy: {id: eval-study, min_sites: 2, cohort_floor: 2}\n");
    ProcessTestKits.splitWdbc(kits, 3);
    for (int s = 0; s < 3; s++) {
      Path site = kits.resolve("site-" + (s + 1));
      edit(site.resolve("site.yaml"), "# evaluation:", "evaluation:");
      edit(site.resolve("site.yaml"), "#   holdout_fraction: 0.2", "  holdout_fraction: 0.3");
    }
    Path coord = kits.resolve("coordinator/coordinator.yaml");
    edit(coord, "rounds: 10", "rounds: 3");
    edit(coord, "metrics: 127.0.0.1:9464", "metrics: 127.0.0.1:0");
    edit(coord, "round_deadline_s: 120", "round_deadline_s: 60");
    Files.writeString(coord, Files.readString(coord) + "linger_s: 90\n");
    return kits;
  }

  private static String evaluationLine(Path coord) throws IOException {
    return Files.readAllLines(coord).stream().filter(l -> l.trim().startsWith("enabled: false") && l.contains("to turn it on"))
        .findFirst().orElseThrow();
  }

  private static String waitForLine(Path log, String containing, long seconds) throws Exception {
    return ProcessTestKits.awaitLine(log, Pattern.compile(Pattern.quote(containing)), seconds);
  }

  /** Numbers masked: the figures are noised, the lines and their words are the sample's. */
  static String masked(String s) {
    return s.replaceAll("\\d+(\\.\\d+)?(e-\\d+)?", "N").strip();
  }

  @Test
  void theOperatorSeesPerRoundAccuracyAndAucFromTheSitesNoisedHeldOutHistograms(@TempDir Path dir) throws Exception {
    Path kits = provision(dir, 19000 + (int) (ProcessHandle.current().pid() % 900));
    Path coordYaml = kits.resolve("coordinator/coordinator.yaml");

    // evaluation on without its noise setting: refused before anything starts, exit 2, naming the key
    String off = evaluationLine(coordYaml);
    String indent = off.substring(0, off.indexOf("enabled"));
    Files.writeString(coordYaml, Files.readString(coordYaml).replace(off, indent + "bins: 10"));
    CloisterCommandTest.Run refused = CloisterCommandTest.run("coordinator", "start", "--config", coordYaml.toString());
    assertThat(refused.code()).as(refused.err()).isEqualTo(2);
    assertThat(refused.err()).contains("'study.evaluation.noise_multiplier' must be given");
    edit(coordYaml, indent + "bins: 10", indent + "noise_multiplier: " + EVAL_Z + "\n" + indent + "bins: 10");

    Path coordLog = dir.resolve("coord.log");
    Process coordinator = processes.start(coordLog, "coordinator", "start", "--config", coordYaml.toString());
    String started = waitForLine(coordLog, "coordinator: study eval-study", 120);
    assertThat(started).as(Files.readString(coordLog)).isNotNull();
    assertThat(Files.readString(coordLog)).contains("federated evaluation on each site's held-out split: Gaussian noise "
        + "multiplier " + EVAL_Z);
    for (int s = 1; s <= 3; s++) {
      processes.start(dir.resolve("site-" + s + ".log"), "site", "start", "--config", kits.resolve("site-" + s + "/site.yaml").toString());
    }
    assertThat(waitForLine(coordLog, "finished: 3 rounds completed", 300)).as(Files.readString(coordLog)).isNotNull();
    String site1 = Files.readString(dir.resolve("site-1.log"));
    assertThat(site1).contains("held-out rows (never trained on)");

    // the operator's view while the coordinator lingers
    CloisterCommandTest.Run status = CloisterCommandTest.run("status", "--kit", kits.resolve("operator").toString(), "--json");
    assertThat(status.code()).as(status.err()).isZero();
    JsonNode study = new ObjectMapper().readTree(status.out()).get("studies").get(0);
    assertThat(study.get("evaluation").asText()).contains("noise multiplier " + EVAL_Z);
    JsonNode evals = study.get("evaluations");
    assertThat(evals).as(status.out() + "\nsite-1's log:\n" + Files.readString(dir.resolve("site-1.log"))).hasSize(4);
    for (int r = 0; r < 4; r++) {
      JsonNode e = evals.get(r);
      assertThat(e.get("round").asInt()).isEqualTo(r + 1);
      assertThat(e.get("model_version").asLong()).isEqualTo(r + 1); // each round scores the model it started from ...
      assertThat(e.get("final").asBoolean()).isEqualTo(r == 3); // ... and after round 3 the sites score its output
      assertThat(e.get("sites").asInt()).isEqualTo(3);
      assertThat(e.get("accuracy").asDouble()).isBetween(0.0, 1.0);
      assertThat(e.get("accuracy_se").asDouble()).isGreaterThan(0);
      assertThat(e.get("auc").isNull() || (e.get("auc").asDouble() >= 0 && e.get("auc").asDouble() <= 1)).isTrue();
      // about 0.3 x 569 held-out rows, give or take the noise of 20 counts of sd 10 x sqrt(3)
      assertThat(e.get("examples").asDouble()).isBetween(170.0 - 300, 170.0 + 300);
    }
    assertThat(study.get("final_evaluation_skipped").size()).as(status.out()).isZero();
    assertThat(study.get("completed_rounds").asInt()).isEqualTo(3);
    CloisterCommandTest.Run text = CloisterCommandTest.run("status", "--kit", kits.resolve("operator").toString());
    assertThat(text.out()).contains("round 1 scored model version 1 (3 sites").contains("accuracy ").contains(" ± ")
        .contains("final evaluation of the final model version 4 (3 sites");
    System.out.println(text.out());
    // the sample in docs/deployment.md is this output (noise and sizes vary from run to run: compared with numbers masked)
    Path samples = Files.createDirectories(Path.of("target", "federated-evaluation"));
    Files.writeString(samples.resolve("status.txt"), "$ cloister status --kit " + kits.resolve("operator") + "\n" + text.out());
    DocSamples.checkProcessSamples("federated-evaluation/", DocSamples.replacements(dir + "/", ""),
        FederatedEvaluationProcessTest::masked);

    // the Micrometer gauges on the coordinator's Prometheus endpoint
    Matcher port = Pattern.compile("metrics on port (\\d+)").matcher(started);
    assertThat(port.find()).isTrue();
    String scraped = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port.group(1) + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    assertThat(scraped).contains("cloister_evaluation_accuracy ").contains("cloister_evaluation_model_version 4.0");
    coordinator.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

    // every site's signed spend is training ⊕ evaluation, and the epsilon it signed is their composition
    Path db = kits.resolve("coordinator/coordinator.db");
    int spends = 0;
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
         ResultSet rs = c.createStatement().executeQuery("SELECT spend FROM ledger ORDER BY seq")) {
      while (rs.next()) {
        PrivacySpend p = PrivacySpend.parseFrom(rs.getBytes(1));
        DpEvent e = DpEventJson.fromJson(p.getEventJson());
        if (p.getRound() == 4) { // the final evaluation: the evaluation's event alone, no training
          assertThat(p.getRoundId()).startsWith("final-evaluation-");
          assertThat(e).isEqualTo(new GaussianEvent(EVAL_Z));
          spends++;
          continue;
        }
        assertThat(e).isInstanceOf(ComposedEvent.class);
        assertThat(((ComposedEvent) e).events()).contains(new GaussianEvent(EVAL_Z));
        spends++;
      }
    }
    assertThat(spends).isEqualTo(12); // 3 rounds and the final evaluation, 3 sites each
    CloisterCommandTest.Run verify = CloisterCommandTest.run("ledger", "verify", "--database", db.toString(),
        "--trust-root", kits.resolve("ca/ca.crt").toString());
    assertThat(verify.code()).as(verify.out()).isZero();
    CloisterCommandTest.Run report = CloisterCommandTest.run("budget", "report", "--study", "eval-study", "--database",
        db.toString(), "--trust-root", kits.resolve("coordinator/ca.crt").toString(), "--config", coordYaml.toString(),
        "--json", "--accountant", "rdp");
    assertThat(report.code()).as(report.err()).isZero();
    JsonNode sites = new ObjectMapper().readTree(report.out()).get("sites");
    assertThat(sites).hasSize(3);
    for (JsonNode site : sites) {
      assertThat(site.get("evaluation_releases").asInt()).isEqualTo(4);
      assertThat(site.get("final_evaluation_releases").asInt()).isEqualTo(1);
      // the report's recomputation exceeds what the training events alone give: the evaluation is counted
      List<DpEvent> training = new ArrayList<>();
      try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
           ResultSet rs = c.createStatement().executeQuery("SELECT spend FROM ledger WHERE party_id = '"
               + site.get("site").asText() + "' ORDER BY seq")) {
        while (rs.next()) {
          DpEvent e = DpEventJson.fromJson(PrivacySpend.parseFrom(rs.getBytes(1)).getEventJson());
          if (e instanceof ComposedEvent composed) {
            training.addAll(composed.events().stream().filter(x -> !(x instanceof GaussianEvent)).toList());
          }
        }
      }
      RdpAccountant trainingOnly = new RdpAccountant();
      training.forEach(x -> trainingOnly.compose(x, 1));
      assertThat(site.get("epsilon").asDouble()).as(report.out()).isGreaterThan(trainingOnly.epsilon(1e-5))
          .isLessThanOrEqualTo(3.0);
    }
  }
}

package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.cloister.cli.ProcessTestKits.edit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.coordinator.enclave.SealedModelStore;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.models.Parameters;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.site.sealing.SealedModelOpener;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/deployment.md's "A first deployment on one machine", step by step with real processes: the
 * commands it lists, in its order (provision; coordinator and sites from their kits; ledger verify;
 * budget report; receipts verify; model export; infer serve from the coordinator kit; infer query).
 * Each step's output is written to {@code target/deployment-walkthrough/} and, at the end of the same run,
 * compared with the samples in docs/deployment.md that show it ({@link DocSamples#checkProcessSamples}: this run's
 * temporary folder and ports shortened to the docs' {@code kits/...}, 7443 and 7444; times, hashes, other ports and
 * the noised figures masked). {@code scripts/regenerate-samples --processes} rewrites those samples from a run.
 */
@Tag("slow")
class DeploymentWalkthroughTest {
  private final ProcessTestKits.Started processes = new ProcessTestKits.Started();
  private static final Path SAMPLES = Path.of("target", "deployment-walkthrough");

  @AfterEach
  void stopAll() {
    processes.killAll();
  }

  private static String waitForLine(Path log, Pattern line, long seconds) throws Exception {
    return ProcessTestKits.awaitLine(log, line, seconds);
  }

  private static CloisterCommandTest.Run step(String name, String... args) throws IOException {
    CloisterCommandTest.Run r = CloisterCommandTest.run(args);
    Files.createDirectories(SAMPLES);
    Files.writeString(SAMPLES.resolve(name + ".txt"), "$ cloister " + String.join(" ", args) + "\n" + r.out() + r.err());
    return r;
  }

  @Test
  void theDocumentedDeploymentRunsFromProvisionToAnExportedModelAndAnAnsweredQuery(@TempDir Path dir) throws Exception {
    int port = 19000 + (int) (ProcessHandle.current().pid() % 2000);
    // 1. provision
    Path consortium = dir.resolve("consortium.yaml");
    Files.writeString(consortium, """
        consortium: wdbc
        coordinator: {host: 127.0.0.1, port: %d}
        sites: [site-1, site-2, site-3]
        study: {id: wdbc-study-1, model: logreg, min_sites: 2, cohort_floor: 3}
        """.formatted(port));
    Path kits = dir.resolve("kits");
    CloisterCommandTest.Run provisioned = step("provision", "provision", consortium.toString(), "--out", kits.toString());
    assertThat(provisioned.code()).as(provisioned.err()).isZero();

    // each hospital's CSV (here: a third of WDBC each) and its label column
    ProcessTestKits.splitWdbc(kits, 3);
    // 2. the coordinator's schedule: 3 rounds; metrics on a free port; exit 3 s after the study ends
    Path coordYaml = kits.resolve("coordinator/coordinator.yaml");
    edit(coordYaml, "rounds: 10", "rounds: 3");
    edit(coordYaml, "metrics: 127.0.0.1:9464", "metrics: 127.0.0.1:0");
    Files.writeString(coordYaml, Files.readString(coordYaml) + "linger_s: 3\n");

    Path coordLog = dir.resolve("coordinator.log");
    Process coordinator = processes.start(coordLog, "coordinator", "start", "--config", coordYaml.toString());
    waitForLine(coordLog, Pattern.compile("^coordinator: study wdbc-study-1"), 180);
    List<Process> sites = new ArrayList<>();
    for (int s = 1; s <= 3; s++) {
      sites.add(processes.start(dir.resolve("site-" + s + ".log"), "site", "start", "--config",
          kits.resolve("site-" + s + "/site.yaml").toString()));
    }
    assertThat(coordinator.waitFor(420, TimeUnit.SECONDS)).as("the study finished").isTrue();
    String coordOut = Files.readString(coordLog);
    assertThat(coordinator.exitValue()).as(coordOut).isZero();
    assertThat(coordOut).contains("finished: 3 rounds completed");
    for (int s = 0; s < 3; s++) {
      assertThat(sites.get(s).waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(sites.get(s).exitValue()).as(Files.readString(dir.resolve("site-" + (s + 1) + ".log"))).isZero();
    }
    Files.createDirectories(SAMPLES);
    Files.writeString(SAMPLES.resolve("coordinator.txt"), "$ cloister coordinator start --config " + coordYaml + "\n" + coordOut);
    Files.writeString(SAMPLES.resolve("site-1.txt"), "$ cloister site start --config " + kits.resolve("site-1/site.yaml") + "\n"
        + Files.readString(dir.resolve("site-1.log")));

    // 4. the privacy officer: ledger, budget, receipts
    String db = kits.resolve("coordinator/coordinator.db").toString();
    CloisterCommandTest.Run ledger = step("ledger-verify", "ledger", "verify", "--database", db,
        "--trust-root", kits.resolve("ca/ca.crt").toString());
    assertThat(ledger.code()).as(ledger.out() + ledger.err()).isZero();
    Path html = dir.resolve("budget.html");
    CloisterCommandTest.Run budget = step("budget-report", "budget", "report", "--study", "wdbc-study-1", "--database", db,
        "--trust-root", kits.resolve("ca/ca.crt").toString(), "--config", coordYaml.toString(), "--html", html.toString());
    assertThat(budget.code()).as(budget.out() + budget.err()).isZero();
    assertThat(Files.readString(html)).doesNotContain("INVALID");
    CloisterCommandTest.Run receipts = step("receipts-verify", "receipts", "verify", "--database", db,
        "--trust-root", kits.resolve("site-1/attestation-root.crt").toString(), "--json");
    assertThat(receipts.code()).as(receipts.out() + receipts.err()).isZero();
    assertThat(receipts.out()).contains("\"valid\":true");

    // 5. a member exports its copy of the last model: JSON coefficients and DL4J's zip, with the model card
    String sealed = kits.resolve("coordinator/sealed-models").toString();
    Path json = dir.resolve("export");
    CloisterCommandTest.Run exportJson = step("model-export", "model", "export", "--kit", kits.resolve("site-1").toString(),
        "--database", db, "--sealed-models", sealed, "--format", "json", "--out", json.toString());
    assertThat(exportJson.code()).as(exportJson.out() + exportJson.err()).isZero();
    assertThat(exportJson.out()).contains("version 4").contains("receipt verified");
    JsonNode coef = new ObjectMapper().readTree(json.resolve("coefficients.json").toFile());
    assertThat(coef.path("classes").get(1).path("name").asText()).isEqualTo("malignant");
    assertThat(coef.path("classes").get(1).path("coefficients").has("radius_mean")).isTrue();
    JsonNode manifest = new ObjectMapper().readTree(json.resolve("export.json").toFile());
    assertThat(manifest.path("model_version").asLong()).isEqualTo(4);
    assertThat(json.resolve("model-card.json")).exists();
    Path zip = dir.resolve("export-dl4j");
    CloisterCommandTest.Run exportZip = CloisterCommandTest.run("model", "export", "--kit", kits.resolve("site-1").toString(),
        "--database", db, "--sealed-models", sealed, "--format", "dl4j", "--out", zip.toString());
    assertThat(exportZip.code()).as(exportZip.out() + exportZip.err()).isZero();
    ModelArtifact v4;
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite:" + db)) {
      v4 = store.model("wdbc-study-1", 4).orElseThrow();
    }
    float[] opened = new SealedModelOpener(null, "site-1", SecureAggregationSetup.readSealingKey(
        kits.resolve("site-1/sealing.key"))).open(v4, new SealedModelStore(kits.resolve("coordinator/sealed-models"))
        .copy("wdbc-study-1", 4, "site-1").orElseThrow(), (int) v4.getDimension());
    MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(zip.resolve("model.zip").toFile());
    assertThat(Parameters.get(restored)).containsExactly(opened);
    assertThat(coef.path("classes").get(1).path("coefficients").path("radius_mean").asDouble())
        .isEqualTo(restored.getLayer(0).getParam("W").getDouble(0, 1));
    // a copy that is not sealed to this member does not open: nothing is exported
    Path swapped = dir.resolve("swapped-models");
    copyTree(kits.resolve("coordinator/sealed-models"), swapped);
    Files.copy(swapped.resolve("wdbc-study-1/v4/site-1.sealed"), swapped.resolve("wdbc-study-1/v4/site-2.sealed"),
        StandardCopyOption.REPLACE_EXISTING);
    CloisterCommandTest.Run wrong = CloisterCommandTest.run("model", "export", "--kit", kits.resolve("site-2").toString(),
        "--database", db, "--sealed-models", swapped.toString(), "--out", dir.resolve("x").toString());
    assertThat(wrong.code()).isEqualTo(1);
    assertThat(wrong.err()).contains("does not open for member site-2");
    assertThat(dir.resolve("x")).doesNotExist();

    // utility: site-1 evaluates every published version on its own data (nothing leaves it)
    CloisterCommandTest.Run eval = step("model-evaluate", "model", "evaluate", "--kit", kits.resolve("site-1").toString(),
        "--database", db, "--sealed-models", sealed, "--data", kits.resolve("site-1/data.csv").toString(),
        "--label", "malignant");
    assertThat(eval.code()).as(eval.out() + eval.err()).isZero();
    assertThat(eval.out().lines().filter(l -> l.startsWith("round ")).count()).isEqualTo(3);
    assertThat(eval.out()).containsPattern("round  3  model version 4  accuracy 0\\.(8|9)\\d+  auc 0\\.9\\d+");

    // 6. inference from the coordinator's kit; a clinician's query of raw values
    Path serveLog = dir.resolve("infer-serve.log");
    int inferPort = port + 1;
    processes.start(serveLog, "infer", "serve", "--kit", kits.resolve("coordinator").toString(), "--listen",
        "127.0.0.1:" + inferPort);
    String serving = waitForLine(serveLog, Pattern.compile("^serving study wdbc-study-1 model logreg version (\\d+)"), 240);
    Matcher m = Pattern.compile("version (\\d+)").matcher(serving);
    assertThat(m.find()).isTrue();
    assertThat(m.group(1)).isEqualTo("4");
    waitForLine(serveLog, Pattern.compile("^try: "), 30);
    Files.writeString(SAMPLES.resolve("infer-serve.txt"), "$ cloister infer serve --kit " + kits.resolve("coordinator")
        + " --listen 127.0.0.1:" + inferPort + "\n" + Files.readString(serveLog));
    // a patient's raw measurements (WDBC: 30 features, then the label), one within every declared range
    String row = null;
    List<String> lines = ProcessTestKits.wdbcLines();
    for (String l : lines.subList(1, lines.size())) {
      String candidate = l.substring(0, l.lastIndexOf(','));
      double[] v = java.util.Arrays.stream(candidate.split(",")).mapToDouble(Double::parseDouble).toArray();
      if (org.cloister.data.BuiltinDatasets.wdbcCard("wdbc-study-1").check(new double[][] {v}, true) == 0) {
        row = candidate;
        break;
      }
    }
    assertThat(row).isNotNull();
    CloisterCommandTest.Run query = step("infer-query", "infer", "query", "--host", "127.0.0.1:" + inferPort,
        "--expect-pcrs", kits.resolve("coordinator/inference/inference-expected-pcrs.json").toString(),
        "--trust-root", kits.resolve("coordinator/enclave/platform/dev-attestation-root.crt").toString(),
        "--features", row);
    assertThat(query.code()).as(query.out() + query.err()).isZero();
    assertThat(query.out()).contains("raw values, checked and transformed by the attested model card")
        .containsPattern("row 1: benign 0\\.\\d+ malignant 0\\.\\d+");
    CloisterCommandTest.Run short29 = step("infer-query-29", "infer", "query", "--host", "127.0.0.1:" + inferPort,
        "--expect-pcrs", kits.resolve("coordinator/inference/inference-expected-pcrs.json").toString(),
        "--trust-root", kits.resolve("coordinator/enclave/platform/dev-attestation-root.crt").toString(),
        "--features", row.substring(0, row.lastIndexOf(',')));
    assertThat(short29.code()).isEqualTo(2);
    assertThat(short29.err()).contains("the model expects 30 features (radius_mean .. fractal_dimension_worst), the data has 29")
        .doesNotContain("Exception");

    // a site kit's expected-pcrs.json pins the secure aggregator, not the inference enclave: refused, and it says which file
    CloisterCommandTest.Run aggregatorPcrs = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:" + inferPort,
        "--expect-pcrs", kits.resolve("site-1/expected-pcrs.json").toString(),
        "--trust-root", kits.resolve("coordinator/enclave/platform/dev-attestation-root.crt").toString(), "--features", row);
    assertThat(aggregatorPcrs.code()).isEqualTo(1);
    assertThat(aggregatorPcrs.err()).contains("PCR_MISMATCH").contains("query NOT sent")
        .contains("inference-expected-pcrs.json").doesNotContain("Exception");

    // 7. revocation from the shell, with the commands `infer serve` printed: disable the model key at the broker
    // it started, then tell the running enclave to erase the model; queries fail from then on
    String revoke = waitForLine(serveLog, Pattern.compile("^revoke: "), 5);
    Matcher r = Pattern.compile("^revoke: \\./cloister (broker key disable \\S+ --broker \\S+ --admin-token-file \\S+ --ca \\S+)"
        + " \\(.*\\), then \\./cloister (infer drop --kit \\S+) \\(").matcher(revoke);
    assertThat(r.find()).as(revoke).isTrue();
    CloisterCommandTest.Run disabled = step("broker-key-disable", r.group(1).split(" "));
    assertThat(disabled.code()).as(disabled.out() + disabled.err()).isZero();
    assertThat(disabled.out()).contains("key cloister/model/wdbc-study-1: DISABLED");
    CloisterCommandTest.Run dropped = step("infer-drop", r.group(2).split(" "));
    assertThat(dropped.code()).as(dropped.out() + dropped.err()).isZero();
    CloisterCommandTest.Run refused = CloisterCommandTest.run("infer", "query", "--host", "127.0.0.1:" + inferPort,
        "--expect-pcrs", kits.resolve("coordinator/inference/inference-expected-pcrs.json").toString(),
        "--trust-root", kits.resolve("coordinator/enclave/platform/dev-attestation-root.crt").toString(), "--features", row);
    assertThat(refused.code()).as(refused.out() + refused.err()).isEqualTo(1);
    assertThat(refused.out()).doesNotContain("row 1:");
    CloisterCommandTest.Run enabled = CloisterCommandTest.run(r.group(1).replace("disable", "enable").split(" "));
    assertThat(enabled.code()).as(enabled.out() + enabled.err()).isZero();
    assertThat(enabled.out()).contains("key cloister/model/wdbc-study-1: enabled");

    // the samples in docs/deployment.md are this run's transcripts (paths and ports as the docs' kits use them)
    Matcher metrics = Pattern.compile("metrics on port \\d+").matcher(coordOut);
    assertThat(metrics.find()).isTrue();
    DocSamples.checkProcessSamples("deployment-walkthrough/", DocSamples.replacements(dir + "/", "", ":" + port, ":7443",
        ":" + inferPort, ":7444", metrics.group(), "metrics on port 9464",
        row, "\"RAW,VALUES,...(30)\"", row.substring(0, row.lastIndexOf(',')), "\"RAW,VALUES,...(29)\""));
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (var s = Files.walk(from)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }
}

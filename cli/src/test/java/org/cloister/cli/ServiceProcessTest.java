package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.cloister.cli.ProcessTestKits.edit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.coordinator.enclave.SealedModelStore;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.site.sealing.SealedModelOpener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deployed shape: a provisioned consortium, the coordinator (which starts the key broker and
 * the secure aggregator enclave from its kit) and the sites as separate JVM processes talking mTLS
 * gRPC on loopback, each site with its own CSV, its updates sealed to the attested enclave.
 */
class ServiceProcessTest {
  private final ProcessTestKits.Started processes = new ProcessTestKits.Started();

  @AfterEach
  void killAll() {
    processes.killAll();
  }

  private Path provision(Path dir, String studyId, int rounds, int port) throws Exception {
    return provision(dir, studyId, rounds, port, 3, 2);
  }

  /** Provisions {@code sites} sites (the study, with quorum {@code minSites}, fixed in the enclave policy). */
  private Path provision(Path dir, String studyId, int rounds, int port, int sites, int minSites) throws Exception {
    List<String> ids = new ArrayList<>();
    for (int s = 1; s <= sites; s++) {
      ids.add("site-" + s);
    }
    Path kits = ProcessTestKits.provision(dir, "consortium: wdbc\ncoordinator: {host: 127.0.0.1, port: " + port
        + "}\nsites: [" + String.join(", ", ids) + "]\nstudy: {id: " + studyId + ", min_sites: " + minSites
        + ", cohort_floor: 2}\n");
    ProcessTestKits.splitWdbc(kits, sites);
    for (int s = 0; s < sites; s++) {
      Path site = kits.resolve("site-" + (s + 1));
      assertThat(Files.readString(site.resolve("site.yaml"))).contains("study_id: " + studyId);
    }
    Path coord = kits.resolve("coordinator/coordinator.yaml");
    // the round quorum provision writes is what the enclave can publish from: at least the cohort floor (2)
    assertThat(Files.readString(coord)).contains("id: " + studyId).contains("min_sites: " + Math.max(minSites, 2) + " ");
    edit(coord, "rounds: 10", "rounds: " + rounds);
    edit(coord, "metrics: 127.0.0.1:9464", "metrics: 127.0.0.1:0");
    edit(coord, "round_deadline_s: 120", "round_deadline_s: 60");
    Files.writeString(coord, Files.readString(coord) + "linger_s: 3\n");
    return kits;
  }

  private static boolean waitForLine(Path log, String prefix, long seconds) throws Exception {
    return waitForLine(log, prefix, "", seconds);
  }

  private static boolean waitForLine(Path log, String prefix, String containing, long seconds) throws Exception {
    long until = System.currentTimeMillis() + seconds * 1000;
    while (System.currentTimeMillis() < until) {
      if (Files.exists(log) && Files.readAllLines(log, StandardCharsets.UTF_8).stream()
          .anyMatch(l -> l.startsWith(prefix) && l.contains(containing))) {
        return true;
      }
      Thread.sleep(200);
    }
    return false;
  }

  private static long count(Path db, String sql) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); ResultSet rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static String rows(Path db, String sql) throws Exception {
    StringBuilder out = new StringBuilder();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); ResultSet rs = c.createStatement().executeQuery(sql)) {
      while (rs.next()) {
        out.append(rs.getString(1)).append('\n');
      }
    }
    return out.toString();
  }

  private static byte[] blob(Path db, String sql) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); ResultSet rs = c.createStatement().executeQuery(sql)) {
      assertThat(rs.next()).as(sql).isTrue();
      return rs.getBytes(1);
    }
  }

  /** Opens a published model as site-1 would: its copy from the coordinator's store, its own key. */
  private static float[] openAsMember(Path store, Path sealingKey, ModelArtifact model) throws Exception {
    var copy = new SealedModelStore(store).copy(model.getStudyId(), model.getVersion(), "site-1").orElseThrow();
    return new SealedModelOpener(null, "site-1", SecureAggregationSetup.readSealingKey(sealingKey))
        .open(model, copy, (int) model.getDimension());
  }

  /**
   * Whether any of {@code haystacks} holds a run of four consecutive weights (f32le) of {@code w},
   * or one of its weights printed as text.
   */
  private static boolean containsWeights(List<byte[]> haystacks, float[] w) {
    byte[] enc = FloatCodec.encode(w);
    for (byte[] h : haystacks) {
      String text = new String(h, StandardCharsets.ISO_8859_1);
      for (int i = 0; i + 4 <= w.length; i += 4) {
        if (indexOf(h, java.util.Arrays.copyOfRange(enc, i * 4, i * 4 + 16)) >= 0) {
          return true;
        }
        String printed = Float.toString(w[i]);
        if (printed.length() >= 9 && text.contains(printed)) {
          return true;
        }
      }
    }
    return false;
  }

  private static int indexOf(byte[] h, byte[] n) {
    outer:
    for (int i = 0; i + n.length <= h.length; i++) {
      for (int j = 0; j < n.length; j++) {
        if (h[i + j] != n[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /**
   * The coordinator's enclave or key broker SIGKILLed: the coordinator stops, naming it (the 50-kill chaos
   * run of 5 December 2026: with its enclave gone the coordinator kept running, every round failed for want of
   * a quorum and the study paused for that reason, until the coordinator happened to be restarted).
   */
  @Test
  void aCoordinatorWhoseEnclaveOrKeyBrokerIsKilledStopsNamingIt(@TempDir Path dir) throws Exception {
    int port = 23000 + (int) (ProcessHandle.current().pid() % 2000);
    Path kits = provision(dir, "child-study", 3, port);
    Path coordYaml = kits.resolve("coordinator/coordinator.yaml");
    // on all interfaces, as a kit whose coordinator has a public name does: the start line names what it bound
    edit(coordYaml, "listen: 127.0.0.1:" + port, "listen: 0.0.0.0:" + port);
    boolean first = true;
    for (String[] child : List.of(new String[] {"enclave", "org.cloister.enclave.EnclaveMain"},
        new String[] {"key broker", "org.cloister.broker.KeyBrokerMain"})) {
      Path log = dir.resolve("coord-" + child[0].replace(' ', '-') + ".log");
      Process coordinator = processes.start(log, "coordinator", "start", "--config", coordYaml.toString());
      assertThat(waitForLine(log, "coordinator: study", 180)).as("coordinator started").isTrue();
      if (first) {
        assertThat(Files.readString(log)).contains("listening on 0.0.0.0:" + port + " (mTLS)");
        first = false;
      }
      ProcessHandle victim = coordinator.descendants().filter(h -> cmdline(h).contains(child[1])).findFirst()
          .orElseThrow(() -> new AssertionError("no " + child[0] + " process under the coordinator"));
      assertThat(victim.destroyForcibly()).isTrue();
      // generous cap (it checks every few seconds): a coordinator that keeps running fails here
      assertThat(coordinator.waitFor(120, TimeUnit.SECONDS)).as(child[0] + " killed: the coordinator did not stop").isTrue();
      String out = Files.readString(log);
      assertThat(coordinator.exitValue()).as(out).isEqualTo(1);
      assertThat(out).as(out).contains("coordinator: the " + child[0] + " process (pid " + victim.pid() + ") exited: stopping");
    }
  }

  private static String cmdline(ProcessHandle h) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", Long.toString(h.pid()), "cmdline")), java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException gone) {
      return "";
    }
  }

  @Test
  void studyCompletesAcrossProcessesAndSurvivesACoordinatorKill(@TempDir Path dir) throws Exception {
    Path kits = provision(dir, "proc-study", 6, 17000 + (int) (ProcessHandle.current().pid() % 2000));
    Path coordYaml = kits.resolve("coordinator/coordinator.yaml");
    Path coordLog = dir.resolve("coord.log");
    Process coordinator = processes.start(coordLog, "coordinator", "start", "--config", coordYaml.toString());
    assertThat(waitForLine(coordLog, "coordinator: study", 120)).as("coordinator started").isTrue();
    List<Process> sites = new ArrayList<>();
    for (int s = 1; s <= 3; s++) {
      sites.add(processes.start(dir.resolve("site-" + s + ".log"), "site", "start", "--config", kits.resolve("site-" + s + "/site.yaml").toString()));
    }
    // SIGKILL the coordinator once round 2 is committed
    assertThat(waitForLine(coordLog, "round 2 (attempt", "): aggregated", 180)).as(Files.readString(coordLog)).isTrue();
    coordinator.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

    Path coordLog2 = dir.resolve("coord2.log");
    Process restarted = processes.start(coordLog2, "coordinator", "start", "--config", coordYaml.toString());
    assertThat(restarted.waitFor(240, TimeUnit.SECONDS)).as("restarted coordinator finished").isTrue();
    String log2 = Files.readString(coordLog2);
    assertThat(restarted.exitValue()).as(log2).isZero();
    // every log line of the service (its own and its enclave's and key broker's, forwarded) carries its time
    List<String> logLines = log2.lines().filter(l -> l.matches(".*\\] (WARN|INFO|ERROR) .*")).toList();
    assertThat(logLines).as(log2).isNotEmpty()
        .allMatch(l -> l.matches("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) \\[.*"));
    assertThat(log2).contains("rounds already recorded").contains("finished: 6 rounds completed");
    for (int s = 0; s < 3; s++) {
      assertThat(sites.get(s).waitFor(60, TimeUnit.SECONDS)).isTrue();
      String siteLog = Files.readString(dir.resolve("site-" + (s + 1) + ".log"));
      assertThat(sites.get(s).exitValue()).as(siteLog).isZero();
      // a line per round at each site: what became of its update, and its epsilon against its ceiling
      assertThat(siteLog).as(siteLog).containsPattern("(?m)^site: round 1: update accepted by the coordinator; epsilon 0\\.\\d{3} of 3\\.0$")
          .containsPattern("(?m)^site: round 6: ");
    }
    Path db = kits.resolve("coordinator/coordinator.db");
    // exactly one aggregated round per round number, none lost, none duplicated
    assertThat(count(db, "SELECT COUNT(*) FROM rounds WHERE quorum_met = 1")).isEqualTo(6);
    assertThat(count(db, "SELECT COUNT(DISTINCT round) FROM rounds WHERE quorum_met = 1")).isEqualTo(6);
    assertThat(count(db, "SELECT MAX(version) FROM models")).isEqualTo(7);
    // exactly one signed ledger entry per (site, committed round); a site that had already sent its
    // noised update for the attempt the kill interrupted spent budget for it, so that attempt's spends
    // stay in the ledger too (at most one per site, all for the round in flight, round 3); the chain
    // and signatures verify
    String ledgerRows = rows(db, "SELECT l.party_id || ' r' || l.round || ' ' || l.round_id || ' committed='"
        + " || COALESCE(r.quorum_met, -1) FROM ledger l LEFT JOIN rounds r ON r.round_id = l.round_id ORDER BY l.seq");
    String inCommitted = " FROM ledger l JOIN rounds r ON r.round_id = l.round_id AND r.quorum_met = 1";
    assertThat(count(db, "SELECT COUNT(*)" + inCommitted)).as(ledgerRows).isEqualTo(18);
    assertThat(count(db, "SELECT COUNT(DISTINCT l.party_id || '/' || l.round)" + inCommitted)).as(ledgerRows).isEqualTo(18);
    String interrupted = " FROM ledger l WHERE l.round_id NOT IN (SELECT round_id FROM rounds)";
    assertThat(count(db, "SELECT COUNT(*)" + interrupted)).as(ledgerRows).isLessThanOrEqualTo(3);
    assertThat(count(db, "SELECT COUNT(*)" + interrupted + " AND l.round <> 3")).as(ledgerRows).isZero();
    assertThat(count(db, "SELECT COUNT(*) FROM ledger")).as(ledgerRows)
        .isEqualTo(18 + count(db, "SELECT COUNT(*)" + interrupted));
    CloisterCommandTest.Run verify = CloisterCommandTest.run("ledger", "verify", "--database", db.toString(),
        "--trust-root", kits.resolve("ca/ca.crt").toString());
    assertThat(verify.code()).as(verify.out()).isZero();
    // the models the database committed are the ones the enclave published (also across the restart)
    Path sealed = kits.resolve("coordinator/sealed-models/proc-study");
    for (int v = 2; v <= 7; v++) {
      ModelArtifact committed = ModelArtifact.parseFrom(blob(db, "SELECT artifact FROM models WHERE version = " + v));
      assertThat(committed.getFormat()).as("version %d", v).isEqualTo(SealedModelOpener.ARTIFACT_FORMAT);
      assertThat(Files.readAllBytes(sealed.resolve("v" + v).resolve("model.bin"))).as("version %d", v)
          .isEqualTo(committed.toByteArray());
    }
    // the coordinator's host never held a plaintext model after the public initial one: search its
    // database, logs and store for the final weights, which site-1 opens with its own sealing key
    float[] last = openAsMember(kits.resolve("coordinator/sealed-models"), kits.resolve("site-1/sealing.key"),
        ModelArtifact.parseFrom(blob(db, "SELECT artifact FROM models WHERE version = 7")));
    float[] first = FloatCodec.decode(ModelArtifact.parseFrom(blob(db, "SELECT artifact FROM models WHERE version = 1"))
        .getPayload(), last.length);
    List<byte[]> hostFiles = new ArrayList<>();
    try (var files = Files.walk(kits.resolve("coordinator"))) {
      for (Path f : files.filter(Files::isRegularFile).filter(f -> !f.toString().endsWith(".jar")).toList()) {
        hostFiles.add(Files.readAllBytes(f));
      }
    }
    hostFiles.add(Files.readAllBytes(coordLog));
    hostFiles.add(Files.readAllBytes(coordLog2));
    assertThat(containsWeights(hostFiles, first)).as("the search finds the public initial model").isTrue();
    assertThat(containsWeights(hostFiles, last)).as("a plaintext model on the coordinator's host").isFalse();
    CloisterCommandTest.Run report = CloisterCommandTest.run("budget", "report", "--study", "proc-study", "--database",
        db.toString(), "--trust-root", kits.resolve("coordinator/ca.crt").toString(), "--config", coordYaml.toString(), "--json");
    assertThat(report.code()).as(report.err()).isZero();
    var sitesJson = new com.fasterxml.jackson.databind.ObjectMapper().readTree(report.out()).get("sites");
    assertThat(sitesJson).hasSize(3);
    for (var site : sitesJson) {
      assertThat(site.get("epsilon").asDouble()).isGreaterThan(0).isLessThanOrEqualTo(3.0);
      // every spend counts: the six committed rounds, plus the interrupted attempt if the site had sent for it
      assertThat(site.get("rounds").asLong()).as(ledgerRows)
          .isEqualTo(count(db, "SELECT COUNT(*) FROM ledger WHERE party_id = '" + site.get("site").asText() + "'"))
          .isBetween(6L, 7L);
    }
  }

  /** Slow: round 2 closes at the real 60 s deadline after site-2 is killed (deployed processes, real time). */
  @Test
  @org.junit.jupiter.api.Tag("slow")
  void aSiteKilledMidRoundRejoinsAndASiteOverItsBudgetIsLeftOut(@TempDir Path dir) throws Exception {
    Path kits = provision(dir, "budget-study", 4, 19000 + (int) (ProcessHandle.current().pid() % 2000), 3, 1);
    Path coordYaml = kits.resolve("coordinator/coordinator.yaml");
    // the provisioned 60 s deadline: a site that misses a deadline while the sites' JVMs start on a
    // loaded machine has still signed a spend, which now counts (issue 12), and would use up site-3's
    // two rounds before round 2
    // site-3's ceiling fits two rounds (epsilon 1.20 after 2, 1.43 after 3 at these settings)
    edit(coordYaml, "  delta: 1.0e-5\n", "  delta: 1.0e-5\n  sites:\n    site-3: {epsilon: 1.3}\n");
    Path coordLog = dir.resolve("coord.log");
    Process coordinator = processes.start(coordLog, "coordinator", "start", "--config", coordYaml.toString());
    assertThat(waitForLine(coordLog, "coordinator: study", 120)).isTrue();
    Process[] sites = new Process[3];
    for (int s = 1; s <= 3; s++) {
      sites[s - 1] = processes.start(dir.resolve("site-" + s + ".log"), "site", "start", "--config", kits.resolve("site-" + s + "/site.yaml").toString());
    }
    // kill site-2 as soon as round 1 is done: it is in the middle of round 2
    assertThat(waitForLine(coordLog, "round 1 (attempt", "): aggregated", 180)).as(Files.readString(coordLog)).isTrue();
    sites[1].destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    assertThat(waitForLine(coordLog, "round 2 (attempt", "): aggregated", 180)).as(Files.readString(coordLog)).isTrue();
    Path site2Log = dir.resolve("site-2-again.log");
    Process site2 = processes.start(site2Log, "site", "start", "--config", kits.resolve("site-2/site.yaml").toString());
    assertThat(coordinator.waitFor(240, TimeUnit.SECONDS)).isTrue();
    String log = Files.readString(coordLog);
    assertThat(coordinator.exitValue()).as(log).isZero();
    assertThat(site2.waitFor(60, TimeUnit.SECONDS)).isTrue();

    Path db = kits.resolve("coordinator/coordinator.db");
    // round 2 went on without site-2, which took part again later; a spend site-2 signed for round 2
    // before it was killed reached the ledger only when the restarted site handed it over
    assertThat(count(db, "SELECT COUNT(*) FROM ledger l JOIN spend_status s ON s.study_id = l.study_id AND s.party_id = l.party_id"
        + " AND s.round_id = l.round_id WHERE l.party_id = 'site-2' AND l.round = 2 AND s.status <> 'reconciled'")).isZero();
    assertThat(count(db, "SELECT COUNT(*) FROM ledger WHERE party_id = 'site-2' AND round >= 3")).isPositive();
    // site-3 spent two rounds and was not asked after that
    assertThat(count(db, "SELECT COUNT(*) FROM ledger WHERE party_id = 'site-3'")).isEqualTo(2);
    CloisterCommandTest.Run report = CloisterCommandTest.run("budget", "report", "--study", "budget-study", "--database",
        db.toString(), "--trust-root", kits.resolve("coordinator/ca.crt").toString(), "--config", coordYaml.toString());
    assertThat(report.code()).as(report.out()).isZero();
    assertThat(report.out()).contains("round 3: left out: budget: projected epsilon").contains("would exceed the ceiling 1.300");
    assertThat(report.out()).contains("round 2: left out: no update before the deadline");
  }

  /** Replaces PCR0 in an expected-PCRs file with the measurement of another image build. */
  private static void expectAnotherImage(Path pcrs) throws IOException {
    String json = Files.readString(pcrs);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"pcr0\" : \"([0-9a-f]{96})\"").matcher(json);
    assertThat(m.find()).as(json).isTrue();
    String other = java.util.HexFormat.of().formatHex(org.cloister.trust.attestation.nitro.SimulatedPcrs.measure(
        "another enclave image build".getBytes(StandardCharsets.UTF_8)));
    Files.writeString(pcrs, json.replace(m.group(1), other));
  }

  @Test
  void aCoordinatorRefusesAnEnclaveWithOtherPcrsThanItsKit(@TempDir Path dir) throws Exception {
    Path kits = provision(dir, "pcr-host-study", 1, 23000 + (int) (ProcessHandle.current().pid() % 2000), 3, 2);
    Path coordYaml = kits.resolve("coordinator/coordinator.yaml");
    // the host refuses to serve with an enclave that is not the one its kit expects
    expectAnotherImage(kits.resolve("coordinator/enclave/expected-pcrs.json"));
    Path refusedLog = dir.resolve("coord-refused.log");
    Process refused = processes.start(refusedLog, "coordinator", "start", "--config", coordYaml.toString());
    assertThat(refused.waitFor(180, TimeUnit.SECONDS)).isTrue();
    assertThat(refused.exitValue()).isNotZero();
    assertThat(Files.readString(refusedLog)).contains("refusing to start").contains("PCR_MISMATCH");
  }

  /** Slow: the round closes at a real 25 s deadline (site-2 sits it out), which deployed processes cannot fake. */
  @Test
  @org.junit.jupiter.api.Tag("slow")
  void aSiteRefusesAnEnclaveWithOtherPcrsThanItsKitAndSitsTheRoundOut(@TempDir Path dir) throws Exception {
    Path kits = provision(dir, "pcr-study", 1, 21000 + (int) (ProcessHandle.current().pid() % 2000), 3, 2);
    Path coordYaml = kits.resolve("coordinator/coordinator.yaml");
    edit(coordYaml, "round_deadline_s: 60", "round_deadline_s: 25");

    // site-2's kit expects another image: it sits the round out rather than send its update
    expectAnotherImage(kits.resolve("site-2/expected-pcrs.json"));
    Path coordLog = dir.resolve("coord.log");
    Process coordinator = processes.start(coordLog, "coordinator", "start", "--config", coordYaml.toString());
    assertThat(waitForLine(coordLog, "coordinator: study", 120)).as(Files.readString(coordLog)).isTrue();
    Process site1 = processes.start(dir.resolve("site-1.log"), "site", "start", "--config", kits.resolve("site-1/site.yaml").toString());
    Process site2 = processes.start(dir.resolve("site-2.log"), "site", "start", "--config", kits.resolve("site-2/site.yaml").toString());
    // a third site, so that the round can still reach the cohort floor (k = 2) without site-2
    Process site3 = processes.start(dir.resolve("site-3.log"), "site", "start", "--config", kits.resolve("site-3/site.yaml").toString());
    assertThat(coordinator.waitFor(240, TimeUnit.SECONDS)).isTrue();
    String log = Files.readString(coordLog);
    assertThat(coordinator.exitValue()).as(log).isZero();
    assertThat(log).containsPattern("round 1 \\(attempt \\d\\): aggregated, 2 of 3 sites aggregated");
    Process[] trio = {site1, site2, site3};
    for (int s = 0; s < 3; s++) {
      assertThat(trio[s].waitFor(60, TimeUnit.SECONDS)).as("site-%d exits after the study: %s", s + 1,
          Files.readString(dir.resolve("site-" + (s + 1) + ".log"))).isTrue();
    }
    assertThat(Files.readString(dir.resolve("site-2.log"))).contains("round 1 not trained")
        .contains("attestation was refused (PCR_MISMATCH)").contains("not sending the update");
    Path db = kits.resolve("coordinator/coordinator.db");
    assertThat(count(db, "SELECT COUNT(*) FROM ledger WHERE party_id = 'site-2'")).isZero();
    assertThat(count(db, "SELECT COUNT(*) FROM ledger WHERE party_id = 'site-1'")).isEqualTo(1);
  }
}

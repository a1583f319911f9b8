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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos: a study through the real services (coordinator, its enclave and key broker as child
 * processes, three sites, mTLS on loopback) while SIGKILL hits the coordinator, the enclave, the
 * broker or a site at seeded random moments; each killed service is started again. Then: the study
 * completed or paused with a stated reason, {@code ledger verify} passes against every site's own
 * ledger (no spend a site signed is missing or duplicated on the coordinator's), each (site, round
 * id) is spent once, and each site's spends are exactly its own ledger's.
 *
 * <p>{@code ./mvnw -B -o -Pslow -pl cli -am test -Dtest=ChaosTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dcloister.chaos.cycles=50 -Dcloister.chaos.seed=1}; the report goes to {@code cli/target/chaos-report.txt}.
 */
@Tag("slow")
class ChaosTest {
  private static final String STUDY = "chaos-study";
  private final ProcessTestKits.Started processes = new ProcessTestKits.Started();

  @AfterEach
  void killAll() {
    processes.killAll();
  }

  private static Path provision(Path dir, int rounds, int port) throws Exception {
    Path kits = ProcessTestKits.provision(dir, "consortium: chaos\ncoordinator: {host: 127.0.0.1, port: " + port
        + "}\nsites: [site-1, site-2, site-3]\nstudy: {id: " + STUDY + ", min_sites: 2, cohort_floor: 2}\n");
    ProcessTestKits.splitWdbc(kits, 3);
    for (int s = 1; s <= 3; s++) {
      edit(kits.resolve("site-" + s + "/site.yaml"), "epsilon: 3.0", "epsilon: 1000");
    }
    Path coord = kits.resolve("coordinator/coordinator.yaml");
    edit(coord, "rounds: 10", "rounds: " + rounds);
    edit(coord, "metrics: 127.0.0.1:9464", "metrics: 127.0.0.1:0");
    edit(coord, "round_deadline_s: 120", "round_deadline_s: 20");
    // a cheap round (3 local steps of logistic regression): the kills, not training, are what is tested
    edit(coord, "batch_size: 16", "batch_size: 64");
    edit(coord, "epsilon: 3.0", "epsilon: 1000");
    Files.writeString(coord, Files.readString(coord) + "linger_s: 5\n");
    return kits;
  }

  /**
   * The coordinator's child JVM whose command line names {@code mainClass}, read from
   * {@code /proc/PID/cmdline}: {@code ProcessHandle.Info} gives nothing for the broker's long class path,
   * so the 50-cycle run of 5 December 2026 never found the broker to kill.
   */
  private static Optional<ProcessHandle> child(Process coordinator, String mainClass) {
    return coordinator.descendants().filter(h -> {
      try {
        return new String(Files.readAllBytes(Path.of("/proc", Long.toString(h.pid()), "cmdline")), StandardCharsets.UTF_8)
            .contains(mainClass);
      } catch (IOException gone) {
        return false;
      }
    }).findFirst();
  }

  /**
   * The kinds to kill, in a seeded order: each of the four kinds {@code cycles / 4} times (the remainder
   * drawn at random), shuffled, so a 50-cycle run kills every kind at least 12 times.
   */
  static List<String> schedule(int cycles, Random random) {
    List<String> kinds = List.of("coordinator", "enclave", "broker", "site");
    List<String> out = new ArrayList<>();
    for (int i = 0; i < cycles; i++) {
      out.add(i < cycles - cycles % kinds.size() ? kinds.get(i % kinds.size()) : kinds.get(random.nextInt(kinds.size())));
    }
    java.util.Collections.shuffle(out, random);
    return out;
  }

  @Test
  void aScheduleKillsEveryKindSeveralTimes() {
    List<String> s = schedule(50, new Random(1));
    assertThat(s).hasSize(50);
    for (String kind : List.of("coordinator", "enclave", "broker", "site")) {
      assertThat(s).filteredOn(kind::equals).hasSizeGreaterThanOrEqualTo(12);
    }
    assertThat(schedule(50, new Random(1))).isEqualTo(s);
  }

  @Test
  void aStudyUnderRandomSigkillsLosesNoLedgerEntryAndSpendsOncePerRound(@TempDir Path dir) throws Exception {
    int cycles = Integer.getInteger("cloister.chaos.cycles", 50);
    long seed = Long.getLong("cloister.chaos.seed", 1L);
    // one kill per aggregated round (below; about 1.1 rounds pass per kill), so 1.5 x cycles rounds outlast the kills
    int rounds = Integer.getInteger("cloister.chaos.rounds", cycles * 3 / 2);
    long minMs = Long.getLong("cloister.chaos.min_ms", 500);
    int spreadMs = Integer.getInteger("cloister.chaos.spread_ms", 8000);
    int capS = Integer.getInteger("cloister.chaos.cap_s", 600);
    Random random = new Random(seed);
    List<String> plan = schedule(cycles, random);
    Path kits = provision(dir, rounds, 19000 + (int) (ProcessHandle.current().pid() % 1000));
    Path coordYaml = kits.resolve("coordinator/coordinator.yaml");
    int[] starts = new int[5];
    long began = System.nanoTime();
    double loadBefore = load();
    Process coordinator = processes.start(dir.resolve("coord-0.log"), "coordinator", "start", "--config", coordYaml.toString());
    Process[] sites = new Process[3];
    for (int s = 0; s < 3; s++) {
      sites[s] = processes.start(dir.resolve("site-" + (s + 1) + "-0.log"), "site", "start", "--config",
          kits.resolve("site-" + (s + 1) + "/site.yaml").toString());
    }
    Map<String, Integer> kills = new TreeMap<>();
    List<String> notes = new ArrayList<>();
    int performed = 0;
    int pauses = 0;
    double loadMax = loadBefore;
    Path coordLog = dir.resolve("coord-0.log");
    awaitLine(coordLog, "coordinator: study", 300);
    int aggregatedAtLastKill = aggregated(dir);
    for (int attempt = 0; performed < cycles && attempt < 3 * cycles; attempt++) {
      String target = plan.get(performed);
      // the study moves on between kills: one more round aggregated since the last kill (capped wait)
      Progress p = awaitProgress(dir, coordLog, coordinator, aggregatedAtLastKill, capS);
      if (p == Progress.FINISHED) {
        notes.add("cycle " + performed + ": the study finished before the kills did");
        break;
      }
      if (p == Progress.PAUSED) {
        pauses++;
        notes.add("cycle " + performed + ": " + lastLine(coordLog, "coordinator: study " + STUDY + " paused")
            + " -> the operator resumes it");
        CloisterCommandTest.Run resume = CloisterCommandTest.run("study", "resume", STUDY, "--kit", kits.resolve("operator").toString());
        notes.add("  resume: exit " + resume.code() + " " + resume.out().strip() + resume.err().strip());
      } else if (p == Progress.NONE) {
        notes.add("cycle " + performed + ": no round aggregated in " + capS + " s since the last kill: " + lastLines(coordLog));
      }
      if (!coordinator.isAlive()) {
        notes.add("cycle " + performed + ": coordinator had exited (" + coordinator.exitValue() + "): " + lastLines(coordLog));
        coordLog = dir.resolve("coord-" + (++starts[0]) + ".log");
        coordinator = processes.start(coordLog, "coordinator", "start", "--config", coordYaml.toString());
        awaitLine(coordLog, "coordinator: study", 300);
        continue;
      }
      // a random point of the next round's life
      Thread.sleep(minMs + random.nextInt(spreadMs));
      loadMax = Math.max(loadMax, load());
      switch (target) {
        case "coordinator" -> {
          coordinator.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
          coordLog = dir.resolve("coord-" + (++starts[0]) + ".log");
          coordinator = processes.start(coordLog, "coordinator", "start", "--config", coordYaml.toString());
          // the next kill comes at a random point of its life, not before it is up
          if (!awaitLine(coordLog, "coordinator: study", 300)) {
            notes.add("cycle " + performed + ": restarted coordinator not up: " + lastLines(coordLog));
          }
        }
        case "enclave", "broker" -> {
          // the coordinator's child, waited for (capped): it may be starting again after an earlier kill
          Optional<ProcessHandle> h = awaitChild(coordinator,
              target.equals("enclave") ? "org.cloister.enclave.EnclaveMain" : "KeyBrokerMain", 120);
          if (h.isEmpty() || !h.get().destroyForcibly()) {
            notes.add("cycle " + performed + ": no " + target + " process to kill (coordinator alive " + coordinator.isAlive() + ")");
            continue;
          }
          h.get().onExit().get(30, TimeUnit.SECONDS);
        }
        default -> {
          int s = random.nextInt(3);
          sites[s].destroyForcibly().waitFor(30, TimeUnit.SECONDS);
          sites[s] = processes.start(dir.resolve("site-" + (s + 1) + "-" + (++starts[1 + s]) + ".log"), "site", "start", "--config",
              kits.resolve("site-" + (s + 1) + "/site.yaml").toString());
        }
      }
      kills.merge(target, 1, Integer::sum);
      performed++;
      aggregatedAtLastKill = aggregated(dir);
      notes.add("cycle " + (performed - 1) + ": killed the " + target + " after round " + aggregatedAtLastKill + " was aggregated");
      // progress survives a run stopped early: target/chaos-progress.txt
      Files.writeString(Path.of("target/chaos-progress.txt"), String.format(java.util.Locale.ROOT, "%d of %d SIGKILLs %s, %d min, load %.1f%n%s%n",
          performed, cycles, kills, TimeUnit.NANOSECONDS.toMinutes(System.nanoTime() - began), load(), String.join("\n", notes)));
    }
    // let the study end: completed, or paused with a stated reason; restart a coordinator that died
    for (int i = 0; i < 5 && !finished(dir); i++) {
      Progress p = awaitEnd(dir, coordLog, coordinator, 1800);
      if (p == Progress.PAUSED) {
        pauses++;
        notes.add("after the kills: " + lastLine(coordLog, "coordinator: study " + STUDY + " paused") + " -> the operator resumes it");
        CloisterCommandTest.Run resume = CloisterCommandTest.run("study", "resume", STUDY, "--kit", kits.resolve("operator").toString());
        notes.add("  resume: exit " + resume.code() + " " + resume.out().strip() + resume.err().strip());
      } else if (!coordinator.isAlive() && !finished(dir)) {
        notes.add("after the kills: coordinator had exited (" + coordinator.exitValue() + "): " + lastLines(coordLog));
        coordLog = dir.resolve("coord-" + (++starts[0]) + ".log");
        coordinator = processes.start(coordLog, "coordinator", "start", "--config", coordYaml.toString());
      } else if (p == Progress.NONE) {
        break;
      }
    }
    coordinator.waitFor(60, TimeUnit.SECONDS); // its linger, so that the sites learn the end
    for (Process s : sites) {
      s.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    coordinator.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    long minutes = TimeUnit.NANOSECONDS.toMinutes(System.nanoTime() - began);

    Path db = kits.resolve("coordinator/coordinator.db");
    String status = status(db);
    List<String> verifyArgs = new ArrayList<>(List.of("ledger", "verify", "--database", db.toString(), "--trust-root",
        kits.resolve("ca/ca.crt").toString()));
    for (int s = 1; s <= 3; s++) {
      verifyArgs.addAll(List.of("--site-ledger", kits.resolve("site-" + s + "/state/site-ledger.db").toString()));
    }
    CloisterCommandTest.Run verify = CloisterCommandTest.run(verifyArgs.toArray(String[]::new));
    // each (site, round id) once on the coordinator's ledger; each site's spends exactly its own ledger's
    Map<String, Set<String>> coordinatorSpends = spends(db, "SELECT party_id, round_id FROM ledger");
    boolean sameAsSites = true;
    int siteSpends = 0;
    long siteDuplicates = 0;
    for (int s = 1; s <= 3; s++) {
      Path siteDb = kits.resolve("site-" + s + "/state/site-ledger.db");
      Set<String> own = spends(siteDb,
          "SELECT 'site-" + s + "', round_id FROM spends WHERE study_id = '" + STUDY + "'").getOrDefault("site-" + s, Set.of());
      siteSpends += own.size();
      sameAsSites &= own.equals(coordinatorSpends.getOrDefault("site-" + s, Set.of()));
      if (Files.exists(siteDb)) { // a site never spends twice for one round (its own ledger)
        siteDuplicates += count(siteDb, "SELECT COUNT(*) FROM spends WHERE study_id = '" + STUDY + "'") - own.size();
      }
    }
    long entries = count(db, "SELECT COUNT(*) FROM ledger");
    long distinct = count(db, "SELECT COUNT(DISTINCT party_id || '/' || round_id) FROM ledger");
    long committed = count(db, "SELECT COUNT(*) FROM rounds WHERE quorum_met = 1");
    long attempts = count(db, "SELECT COUNT(*) FROM rounds");
    Map<String, Integer> planned = new TreeMap<>();
    plan.forEach(k -> planned.merge(k, 1, Integer::sum));
    String report = "chaos: seed " + seed + ", " + performed + " SIGKILLs of " + cycles + " cycles " + kills + " (planned " + planned
        + "), " + minutes + " min, load average " + String.format(java.util.Locale.ROOT, "%.1f", loadBefore) + " at start, "
        + String.format(java.util.Locale.ROOT, "%.1f", loadMax) + " at most; pauses " + pauses
        + "; study " + status + "; rounds aggregated " + committed + " of " + rounds + " in " + attempts + " recorded attempts"
        + "; ledger entries " + entries + " (distinct site/round id " + distinct + "), site ledgers " + siteSpends
        + " (duplicates " + siteDuplicates + "), identical " + sameAsSites + "; ledger verify exit " + verify.code() + "\n"
        + String.join("\n", notes) + "\n" + verify.out() + verify.err();
    Files.writeString(Path.of("target/chaos-report.txt"), report);
    // the services' logs beside the report (the temporary directory goes)
    Path logs = Files.createDirectories(Path.of("target/chaos-logs"));
    try (var each = Files.list(dir)) {
      for (Path log : each.filter(f -> f.getFileName().toString().endsWith(".log")).toList()) {
        Files.copy(log, logs.resolve(log.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    System.out.println(report);

    assertThat(performed).as("SIGKILLs performed\n" + report).isEqualTo(cycles);
    assertThat(kills).as(report).isEqualTo(planned);
    assertThat(status).as(report).matches("(finished|paused).*:.+");
    assertThat(verify.code()).as(report).isZero();
    assertThat(distinct).as(report).isEqualTo(entries);
    assertThat(siteDuplicates).as(report).isZero();
    assertThat(sameAsSites).as(report).isTrue();
  }

  /** How many of each coordinator log's pause announcements the test has answered (as the operator). */
  private final Map<Path, Long> answeredPauses = new java.util.HashMap<>();

  private enum Progress { AGGREGATED, PAUSED, FINISHED, EXITED, NONE }

  /** Waits (at most {@code seconds}) for a round aggregated after {@code since}, a pause, the end or the coordinator's exit. */
  private Progress awaitProgress(Path dir, Path coordLog, Process coordinator, int since, int seconds) throws Exception {
    for (int i = 0; i < seconds * 5; i++) {
      if (aggregated(dir) > since) {
        return Progress.AGGREGATED;
      }
      Progress other = other(dir, coordLog, coordinator);
      if (other != null) {
        return other;
      }
      Thread.sleep(200);
    }
    return Progress.NONE;
  }

  private Progress awaitEnd(Path dir, Path coordLog, Process coordinator, int seconds) throws Exception {
    for (int i = 0; i < seconds * 5; i++) {
      Progress other = other(dir, coordLog, coordinator);
      if (other != null) {
        return other;
      }
      Thread.sleep(200);
    }
    return Progress.NONE;
  }

  private Progress other(Path dir, Path coordLog, Process coordinator) throws IOException {
    if (finished(dir)) {
      return Progress.FINISHED;
    }
    if (!coordinator.isAlive()) {
      return Progress.EXITED;
    }
    // a pause this coordinator announced that the test has not answered yet
    long announced = ProcessTestKits.lines(coordLog).stream()
        .filter(l -> l.startsWith("coordinator: study " + STUDY + " paused")).count();
    if (announced > answeredPauses.getOrDefault(coordLog, 0L)) {
      answeredPauses.put(coordLog, announced);
      return Progress.PAUSED;
    }
    return null;
  }

  private static final java.util.regex.Pattern AGGREGATED = java.util.regex.Pattern.compile("^round (\\d+) \\(attempt \\d+\\): aggregated");

  /** The highest round any coordinator's log reports aggregated. */
  private static int aggregated(Path dir) throws IOException {
    int max = 0;
    try (var logs = Files.list(dir)) {
      for (Path p : logs.filter(p -> p.getFileName().toString().startsWith("coord-")).toList()) {
        for (String line : ProcessTestKits.lines(p)) {
          java.util.regex.Matcher m = AGGREGATED.matcher(line);
          if (m.find()) {
            max = Math.max(max, Integer.parseInt(m.group(1)));
          }
        }
      }
    }
    return max;
  }

  private static Optional<ProcessHandle> awaitChild(Process coordinator, String mainClass, int seconds) throws InterruptedException {
    for (int i = 0; i < seconds * 5 && coordinator.isAlive(); i++) {
      Optional<ProcessHandle> h = child(coordinator, mainClass);
      if (h.isPresent()) {
        return h;
      }
      Thread.sleep(200);
    }
    return Optional.empty();
  }

  private static double load() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static String lastLine(Path log, String prefix) throws IOException {
    List<String> lines = ProcessTestKits.lines(log);
    for (int i = lines.size() - 1; i >= 0; i--) {
      if (lines.get(i).startsWith(prefix)) {
        return lines.get(i);
      }
    }
    return prefix + " (no such line)";
  }

  /** Polls {@code log} for a line starting with {@code prefix} (bounded tries; this is a slow, manual test). */
  private static boolean awaitLine(Path log, String prefix, int seconds) throws Exception {
    for (int i = 0; i < seconds * 5; i++) {
      if (ProcessTestKits.lines(log).stream().anyMatch(l -> l.startsWith(prefix))) {
        return true;
      }
      Thread.sleep(200);
    }
    return false;
  }

  private static String lastLines(Path log) throws IOException {
    List<String> lines = Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
    return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
  }

  private static boolean finished(Path dir) throws IOException {
    try (var logs = Files.list(dir)) {
      for (Path p : logs.filter(p -> p.getFileName().toString().startsWith("coord-")).toList()) {
        if (Files.readString(p).contains("finished: ")) {
          return true;
        }
      }
    }
    return false;
  }

  private static String status(Path db) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
         ResultSet rs = c.createStatement().executeQuery("SELECT status, status_detail FROM studies WHERE study_id = '" + STUDY + "'")) {
      return rs.next() ? rs.getString(1) + ": " + rs.getString(2) : "absent";
    }
  }

  private static long count(Path db, String sql) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); ResultSet rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static Map<String, Set<String>> spends(Path db, String sql) throws Exception {
    Map<String, Set<String>> out = new LinkedHashMap<>();
    if (!Files.exists(db)) {
      return out;
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); ResultSet rs = c.createStatement().executeQuery(sql)) {
      while (rs.next()) {
        out.computeIfAbsent(rs.getString(1), k -> new HashSet<>()).add(rs.getString(2));
      }
    }
    return out;
  }
}

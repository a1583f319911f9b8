package org.cloister.cli.processes;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.cloister.cli.ServiceLog;
import org.cloister.cli.provision.ConsortiumSpec;
import org.cloister.cli.provision.Provisioner;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.enclave.SealedModelStore;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.data.Dataset;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.models.EvaluationMetrics;
import org.cloister.models.Evaluator;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.simulations.DpPlanner;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SecureAggregationStack;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationData;
import org.cloister.simulations.SimulationResult;
import org.cloister.simulations.SimulatedStudy;
import org.cloister.simulations.SiteReport;
import org.cloister.site.ledger.SiteLedger;
import org.cloister.site.sealing.SealedModelOpener;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.buffer.DataType;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * {@code cloister simulate --mode processes}: the simulated study exactly as deployed. It plays the
 * consortium ({@code cloister provision} into {@code OUT/deployment/kits}, with an {@code evaluator}
 * observer who receives sealed models but does not train), writes each virtual hospital's partition
 * as the CSV next to its {@code site.yaml}, and starts {@code coordinator start} (which starts the
 * key broker and the enclave) and one {@code site start} per hospital, each a separate JVM talking
 * mTLS on loopback. When the study ends it evaluates every published model, opened from the
 * evaluator's sealed copy, on the held-out split, and returns the same result as an in-process run.
 *
 * <p>Sites train as deployed sites do: DP-SGD under their own budget with noise from OS entropy
 * (so a run is not bit-for-bit reproducible). Each site's {@code data.csv} holds its raw rows and its
 * kit's model card the study's feature rules: the site applies them once, as a deployed site does
 * (a {@code private} rule is estimated by each site from its own rows, under its own budget).
 */
public final class ProcessSimulation {
  static final String EVALUATOR = "evaluator";
  private static final String MARKER = ".cloister-process-simulation";

  private final SimulationConfig cfg;
  private final Consumer<RoundReport> progress;
  private final List<Process> started = new java.util.concurrent.CopyOnWriteArrayList<>();

  public ProcessSimulation(SimulationConfig cfg, Consumer<RoundReport> progress) {
    this.cfg = cfg;
    this.progress = progress;
  }

  private List<String> siteIds() {
    List<String> sites = new ArrayList<>();
    for (int s = 0; s < cfg.sites(); s++) {
      sites.add("site-" + (s + 1));
    }
    return sites;
  }

  private DpConfig plan(SimulationData data) {
    TrainingConfig training = TrainingConfig.newBuilder().setLocalEpochs(cfg.localEpochs())
        .setLocalSteps(cfg.localSteps()).setBatchSize(cfg.batchSize()).setLearningRate(cfg.learningRate())
        .setSeed(cfg.seed()).build();
    return DpPlanner.plan(cfg, training, data.sitePartitions());
  }

  /**
   * Plays the consortium: provisions the kits under {@code deployment/kits} with the study's model card
   * (its features' rules and class names, so every site applies the study's preprocessing exactly once),
   * writes each hospital's raw rows as its {@code data.csv} and the schedule, DP settings and budgets
   * into the configurations; returns the kits folder.
   */
  Path writeKits(SimulationData data, Path image, Path deployment, Path out, DpConfig dp) throws IOException {
    Path kits = deployment.resolve("kits");
    List<String> sites = siteIds();
    double bound = Double.parseDouble(System.getProperty("cloister.enclave.max-update-norm",
        String.valueOf(SecureAggregationStack.DEFAULT_MAX_UPDATE_NORM)));
    org.cloister.data.ModelCard card = SimulationData.modelCard(cfg);
    if (card == null) {
      throw new IllegalArgumentException("--mode processes needs a dataset with raw features (builtin:wdbc, csv:PATH, "
          + "synthea:DIR); " + cfg.dataset() + " generates model inputs directly: use --mode in-process");
    }
    List<String> classNames = card.classNames();
    Dataset test = data.test();
    ConsortiumSpec spec = new ConsortiumSpec("simulation", "127.0.0.1", freePort(), sites, 1,
        new ConsortiumSpec.Study(cfg.studyId(), cfg.model(), test.numFeatures(), test.numClasses(),
            cfg.minSitesPerRound(), cfg.strategy(), bound, SecureAggregationStack.cohortFloor(cfg.sites()), null,
            card.preprocessing(), classNames),
        List.of(EVALUATOR));
    new Provisioner(new SecureRandom(), image).provision(spec, kits, Instant.now());
    Files.copy(kits.resolve("ca/ca.crt"), out.resolve("consortium-ca.crt"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    configureCoordinator(kits.resolve("coordinator/coordinator.yaml"), dp, out);
    for (int s = 0; s < sites.size(); s++) {
      configureSite(kits.resolve(sites.get(s)), data.rawSitePartitions().get(s), s);
    }
    return kits;
  }

  /** Refuses what deployed processes cannot run: a study without DP (deployed sites train only privately). */
  public static void requireSupported(SimulationConfig cfg) {
    if (!cfg.dp().enabled()) {
      throw new IllegalArgumentException("--mode processes runs every site as `site start`, which trains only with "
          + "DP-SGD under its privacy budget: give a budget (e.g. --epsilon 3) or use --mode in-process");
    }
  }

  public SimulationResult run() throws Exception {
    long begin = System.currentTimeMillis();
    requireSupported(cfg);
    Path image = SecureAggregationStack.locateImage();
    if (image == null) {
      throw new IllegalArgumentException("--mode processes needs the enclave image jar: build the distribution with "
          + "./mvnw -pl cli -am package, or set -Dcloister.enclave.image=JAR");
    }
    SimulationData data = SimulationData.prepare(cfg);
    Dataset test = data.test();
    Path out = Files.createDirectories(cfg.outDir()).toAbsolutePath();
    Path deployment = out.resolve("deployment");
    clean(deployment);
    Files.createDirectories(deployment);
    Files.writeString(deployment.resolve(MARKER), "written by cloister simulate --mode processes\n");
    Path logs = Files.createDirectories(deployment.resolve("logs"));
    for (String f : new String[] {"coordinator.db", "coordinator.db-wal", "coordinator.db-shm", "consortium-ca.crt"}) {
      Files.deleteIfExists(out.resolve(f));
    }
    List<String> sites = siteIds();
    DpConfig dp = plan(data);
    Path kits = writeKits(data, image, deployment, out, dp);
    Path coordinatorYaml = kits.resolve("coordinator/coordinator.yaml");

    int exit;
    // the site processes do not watch this one: end them if this JVM is interrupted
    Thread stopAll = new Thread(() -> started.forEach(Process::destroyForcibly), "stop-simulated-deployment");
    Runtime.getRuntime().addShutdownHook(stopAll);
    try {
      Path coordinatorLog = logs.resolve("coordinator.log");
      Process coordinator = start(coordinatorLog, "coordinator", "start", "--config", coordinatorYaml.toString());
      awaitLine(coordinator, coordinatorLog, "coordinator: study ", Duration.ofSeconds(300));
      List<Process> siteProcesses = new ArrayList<>();
      for (String site : sites) {
        siteProcesses.add(start(logs.resolve(site + ".log"), "site", "start", "--config",
            kits.resolve(site).resolve("site.yaml").toString()));
      }
      long budget = cfg.roundDeadline().toMillis() * cfg.rounds() * 3 + 300_000;
      if (!coordinator.waitFor(budget, TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("the study did not finish within " + budget / 1000 + " s; logs in " + logs);
      }
      exit = coordinator.exitValue();
      for (Process p : siteProcesses) {
        p.waitFor(60, TimeUnit.SECONDS);
      }
    } finally {
      started.forEach(Process::destroyForcibly);
      try {
        Runtime.getRuntime().removeShutdownHook(stopAll);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running already
      }
    }

    // evaluate each published model as the evaluator opens it; report as an in-process run does
    ArchitectureEvaluator evaluator = new ArchitectureEvaluator(cfg, test,
        new SealedModelOpener(null, EVALUATOR, SecureAggregationSetup.readSealingKey(kits.resolve(EVALUATOR)
            .resolve("sealing.key"))), new SealedModelStore(kits.resolve("coordinator/sealed-models")));
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite:" + out.resolve("coordinator.db"))) {
      List<RoundReport> reports = new ArrayList<>();
      long lastVersion = 1;
      for (RoundResult r : store.rounds(cfg.studyId())) {
        RoundReport rep;
        if (r.quorumMet()) {
          EvaluationMetrics m = evaluator.evaluate(store.model(cfg.studyId(), r.modelVersion()).orElseThrow());
          rep = new RoundReport(r.round(), r.modelVersion(), r.aggregated(), r.rejected(), m.accuracy(), m.auc(),
              m.logLoss(), r.durationMillis());
          reports.add(rep);
          lastVersion = r.modelVersion();
        } else {
          rep = new RoundReport(r.round(), r.modelVersion(), r.aggregated(), r.rejected(), Double.NaN, Double.NaN,
              Double.NaN, r.durationMillis());
        }
        progress.accept(rep);
      }
      EvaluationMetrics fin = evaluator.evaluate(store.model(cfg.studyId(), lastVersion).orElseThrow());
      List<RoundResult> history = store.rounds(cfg.studyId());
      BudgetGuard guard = SimulatedStudy.accountant(cfg, store);
      List<SiteReport> siteReports = new ArrayList<>();
      for (int s = 0; s < sites.size(); s++) {
        String id = sites.get(s);
        int contributed = (int) history.stream().filter(r -> r.aggregated().contains(id)).count();
        double eps;
        try (SiteLedger ledger = new SiteLedger("jdbc:sqlite:" + kits.resolve(id).resolve("state/site-ledger.db"))) {
          eps = guard.epsilon(id, ledger.events(cfg.studyId()));
        }
        siteReports.add(new SiteReport(id, data.sitePartitions().get(s).size(), contributed, eps, cfg.dp().delta()));
      }
      String status = finalStatus(logs.resolve("coordinator.log"), exit);
      return new SimulationResult(cfg, reports, fin, siteReports, status, System.currentTimeMillis() - begin,
          dp.getNoiseMultiplier());
    }
  }

  /** The study's final status as the coordinator printed it ("finished: 5 rounds completed"). */
  private String finalStatus(Path coordinatorLog, int exit) throws IOException {
    String prefix = "coordinator: study " + cfg.studyId() + " ";
    List<String> lines = Files.readAllLines(coordinatorLog, StandardCharsets.UTF_8);
    for (int i = lines.size() - 1; i >= 0; i--) {
      String line = ServiceLog.strip(lines.get(i)); // the service's timestamp first
      if (line.startsWith(prefix) && !line.contains(" rounds, listening on ")) {
        return line.substring(prefix.length());
      }
    }
    return "paused: the coordinator exited with " + exit + " (see " + coordinatorLog + ")";
  }

  /** Opens published models with the evaluator's key and scores them on the held-out split. */
  private record ArchitectureEvaluator(Model net, Dataset test, SealedModelOpener opener,
                                       SealedModelStore copies) {
    ArchitectureEvaluator(SimulationConfig cfg, Dataset test, SealedModelOpener opener, SealedModelStore copies) {
      this(ModelZoo.newModel(ModelZoo.byName(cfg.model()), test.numFeatures(), test.numClasses(), cfg.seed(), null,
          DataType.FLOAT), test, opener, copies);
    }

    EvaluationMetrics evaluate(ModelArtifact m) {
      float[] w = m.getVersion() == 1 ? opener.open(m, (int) m.getDimension())
          : opener.open(m, copies.copy(m.getStudyId(), m.getVersion(), EVALUATOR).orElseThrow(() ->
              new IllegalStateException("no sealed copy of model version " + m.getVersion() + " for the evaluator")),
              (int) m.getDimension());
      Parameters.set(net, w);
      return Evaluator.evaluate(net, test);
    }
  }

  /** The simulation's schedule, DP-SGD settings and ceilings in the coordinator's configuration. */
  private void configureCoordinator(Path file, DpConfig dp, Path out) throws IOException {
    Map<String, Object> c = load(file);
    c.put("database", "jdbc:sqlite:" + out.resolve("coordinator.db"));
    c.put("metrics", "127.0.0.1:0");
    c.put("linger_s", 3);
    c.remove("admin"); // no operator here: a paused study ends the run (exit 1) instead of waiting to be resumed
    @SuppressWarnings("unchecked")
    Map<String, Object> study = (Map<String, Object>) c.get("study");
    study.put("rounds", cfg.rounds());
    study.put("round_deadline_s", cfg.roundDeadline().toSeconds());
    study.put("join_timeout_s", 300);
    study.put("local_epochs", cfg.localEpochs());
    study.put("local_steps", cfg.localSteps());
    study.put("batch_size", cfg.batchSize());
    study.put("learning_rate", cfg.learningRate());
    study.put("seed", cfg.seed());
    Map<String, Object> dpSection = new LinkedHashMap<>();
    dpSection.put("noise_multiplier", dp.getNoiseMultiplier());
    dpSection.put("clip", dp.getClipNorm());
    if (dp.getSamplingRate() > 0) {
      dpSection.put("sampling_rate", dp.getSamplingRate());
    }
    study.put("dp", dpSection);
    Map<String, Object> privacy = new LinkedHashMap<>();
    privacy.put("epsilon", ceiling());
    privacy.put("delta", cfg.dp().delta());
    c.put("privacy", privacy);
    @SuppressWarnings("unchecked")
    Map<String, Object> aggregation = (Map<String, Object>) c.get("aggregation");
    aggregation.put("key_broker_audit_log", out.resolve("key-broker-audit.jsonl").toString());
    dump(file, c);
  }

  /**
   * A site's raw partition (as the hospital's file holds it: the site applies the study's preprocessing
   * itself) as its CSV, and its budget and seed in its configuration.
   */
  private void configureSite(Path kit, Dataset part, int index) throws IOException {
    StringBuilder csv = new StringBuilder(String.join(",", part.featureNames())).append(",label\n");
    for (int i = 0; i < part.size(); i++) {
      for (int j = 0; j < part.numFeatures(); j++) {
        double v = part.features()[i][j];
        if (Double.isNaN(v)) {
          throw new IllegalArgumentException("--mode processes: '" + part.featureNames().get(j) + "' has missing values "
              + "filled by the 'centre' rule, which a deployed site's site.yaml cannot declare yet: use skip or "
              + "constant:VALUE, or --mode in-process");
        }
        csv.append(v).append(',');
      }
      csv.append(part.labels()[i]).append('\n');
    }
    Files.writeString(kit.resolve("data.csv"), csv, StandardCharsets.UTF_8);
    Map<String, Object> c = load(kit.resolve("site.yaml"));
    @SuppressWarnings("unchecked")
    Map<String, Object> budget = (Map<String, Object>) c.get("budget");
    budget.put("epsilon", ceiling());
    budget.put("delta", cfg.dp().delta());
    c.put("seed", cfg.seed() + index);
    c.put("give_up_after_s", 300);
    dump(kit.resolve("site.yaml"), c);
  }

  /** The sites' ceiling: the simulation's budget, or none (a fixed noise multiplier). */
  private double ceiling() {
    return Double.isNaN(cfg.dp().epsilon()) ? 1e9 : cfg.dp().epsilon();
  }

  private Process start(Path log, String... args) throws IOException {
    Process p = CloisterProcess.start(log, args);
    started.add(p);
    return p;
  }

  private static void awaitLine(Process p, Path log, String prefix, Duration timeout) throws Exception {
    long until = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < until) {
      if (Files.exists(log) && Files.readAllLines(log, StandardCharsets.UTF_8).stream()
          .anyMatch(l -> ServiceLog.strip(l).startsWith(prefix))) {
        return;
      }
      if (!p.isAlive()) {
        throw new IllegalStateException("the coordinator exited with " + p.exitValue() + " before serving: "
            + String.join("\n", tail(log)));
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("the coordinator did not serve within " + timeout.toSeconds() + " s: "
        + String.join("\n", tail(log)));
  }

  private static List<String> tail(Path log) throws IOException {
    List<String> lines = Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
    return lines.subList(Math.max(0, lines.size() - 10), lines.size());
  }

  private static int freePort() throws IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> load(Path yaml) throws IOException {
    return (Map<String, Object>) new Yaml().load(Files.readString(yaml, StandardCharsets.UTF_8));
  }

  private static void dump(Path yaml, Map<String, Object> content) throws IOException {
    DumperOptions o = new DumperOptions();
    o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    Files.writeString(yaml, "# written by cloister simulate --mode processes\n" + new Yaml(o).dump(content),
        StandardCharsets.UTF_8);
  }

  /** Deletes a previous run's deployment folder; refuses a folder this class did not write. */
  private static void clean(Path deployment) throws IOException {
    if (!Files.exists(deployment)) {
      return;
    }
    if (!Files.exists(deployment.resolve(MARKER))) {
      throw new IllegalArgumentException(deployment + " exists and was not written by a process simulation: "
          + "refusing to delete it (choose another --out)");
    }
    SecureAggregationStack.deleteTree(deployment);
  }
}

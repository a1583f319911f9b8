package org.cloister.cli.service;

import org.cloister.cli.config.ConfigMap;

import com.google.protobuf.ByteString;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.rounds.CoordinatorMetrics;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.rounds.RoundListener;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.service.CertificateIdentityResolver;
import org.cloister.coordinator.service.CoordinatorServer;
import org.cloister.coordinator.service.HandshakeRefusals;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.coordinator.strategy.Strategies;
import org.cloister.coordinator.study.StudyAssembly;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.coordinator.study.StudyStatusKind;
import org.cloister.models.ModelArchitecture;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.cloister.observability.PrometheusEndpoint;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.tls.MutualTls;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.TrainingConfig;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The coordinator as a long-running service, from {@code coordinator.yaml}: mTLS gRPC server,
 * durable study state, Prometheus metrics. It runs the configured study to its end (resuming a
 * study found in its database), then exits.
 */
public final class CoordinatorService {
  static final Set<String> KEYS = Set.of("listen", "tls", "database", "metrics", "sites", "study", "linger_s", "privacy",
      "aggregation", "admin");
  static final Set<String> PRIVACY_KEYS = Set.of("epsilon", "delta", "sites");
  static final Set<String> STUDY_KEYS = Set.of("id", "model", "features", "classes", "rounds", "min_sites", "max_sites",
      "round_deadline_s", "join_timeout_s", "max_round_attempts", "local_epochs", "local_steps", "batch_size",
      "learning_rate", "seed", "dp", "strategy");
  static final Set<String> DP_KEYS = Set.of("enabled", "noise_multiplier", "clip", "sampling_rate", "count_private");

  private final Path configFile;
  private final PrintWriter out;
  private final PrintWriter err;

  public CoordinatorService(Path configFile, PrintWriter out, PrintWriter err) {
    this.configFile = configFile;
    this.out = out;
    this.err = err;
  }

  /** The public random initial weights of a study's model (they carry no patient data). */
  public static float[] initialWeights(String model, int features, int classes, long seed) {
    ModelArchitecture arch = ModelZoo.byName(model);
    return Parameters.get(ModelZoo.newNetwork(arch, features, classes, seed, null, DataType.FLOAT));
  }

  /**
   * The sites' ceilings from the {@code privacy:} section ({@code epsilon}, {@code delta}, and
   * per-site overrides under {@code sites: {site-1: {epsilon: 2}}}), or null when there is none.
   */
  public static PrivacyBudgets budgets(Path configFile) throws java.io.IOException {
    return budgets(ConfigMap.load(configFile, KEYS));
  }

  static PrivacyBudgets budgets(ConfigMap c) {
    // Fail closed: no missing, empty or partial privacy section ever turns budget enforcement off
    // or picks a ceiling the operator did not write.
    if (!c.has("privacy")) {
      throw c.error("'privacy' is missing or empty: give each site's ceiling, e.g. privacy: {epsilon: 3.0, delta: 1.0e-5}");
    }
    ConfigMap p = c.section("privacy", PRIVACY_KEYS);
    double epsilon = p.requiredNumber("epsilon");
    double delta = p.requiredNumber("delta");
    if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
      throw p.error("'privacy.epsilon' must be a finite number > 0, got " + epsilon);
    }
    if (!(delta > 0 && delta < 1)) {
      throw p.error("'privacy.delta' must be in (0, 1), got " + delta);
    }
    PrivacyBudgets.Ceiling dflt = new PrivacyBudgets.Ceiling(epsilon, delta);
    java.util.Map<String, PrivacyBudgets.Ceiling> per = new java.util.TreeMap<>();
    if (p.has("sites")) {
      ConfigMap sites = p.section("sites", new java.util.HashSet<>(c.strings("sites")));
      for (String site : c.strings("sites")) {
        if (sites.has(site)) {
          ConfigMap one = sites.section(site, Set.of("epsilon", "delta"));
          per.put(site, new PrivacyBudgets.Ceiling(one.number("epsilon", dflt.epsilon()), one.number("delta", dflt.delta())));
        }
      }
    }
    return new PrivacyBudgets(dflt, per);
  }

  /**
   * The study's DP-SGD settings ({@code study.dp}: {@code noise_multiplier}, {@code clip}, optional
   * {@code sampling_rate}); use {@code cloister privacy calibrate} to choose the noise multiplier
   * for a budget. Absent: a non-private study (which no site with a budget will train for).
   */
  static org.cloister.protocol.v1.DpConfig dpConfig(ConfigMap study) {
    // Fail closed: a missing or empty dp block is an error; only dp: {enabled: false} is non-private.
    if (!study.has("dp")) {
      throw study.error("'study.dp' is missing or empty: give noise_multiplier and clip (see `cloister privacy calibrate`),"
          + " or 'enabled: false' for a non-private study");
    }
    ConfigMap d = study.section("dp", DP_KEYS);
    if (d.has("enabled") && !d.bool("enabled", true)) {  // bool(): "true", 1 and the like are errors
      d.allowOnly(Set.of("enabled"));
      return org.cloister.protocol.v1.DpConfig.getDefaultInstance();
    }
    double sigma = d.number("noise_multiplier", Double.NaN);
    double clip = d.number("clip", 1.0);
    if (!(sigma > 0)) {
      throw d.error("'study.dp.noise_multiplier' must be given and > 0 (see `cloister privacy calibrate`)");
    }
    if (!(clip > 0)) {
      throw d.error("'study.dp.clip' must be > 0");
    }
    double q = d.number("sampling_rate", 0);
    if (q < 0 || q > 1) {
      throw d.error("'study.dp.sampling_rate' must be in (0, 1]");
    }
    boolean countPrivate = d.bool("count_private", false);
    if (countPrivate && !(q > 0 && study.integer("local_steps", 0) > 0)) {
      throw d.error("'study.dp.count_private' needs study.dp.sampling_rate and study.local_steps: otherwise q and the "
          + "step count depend on (and reveal) each site's record count");
    }
    return org.cloister.protocol.v1.DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(sigma).setClipNorm(clip)
        .setSamplingRate(q).setCountPrivate(countPrivate).build();
  }

  /**
   * ", not joined: site-3 (refused at the TLS handshake: certificate revoked ...)" for the rostered sites that
   * never joined, or "" when every one did.
   */
  static String notJoined(java.util.List<String> roster, java.util.Set<String> joined, HandshakeRefusals refusals) {
    java.util.List<String> missing = roster.stream().filter(s -> !joined.contains(s)).toList();
    if (missing.isEmpty()) {
      return "";
    }
    java.util.Map<String, String> why = new java.util.TreeMap<>();
    refusals.refusals().forEach((subject, reason) -> why.put(subject.replaceAll("^CN=([^,( ]+).*", "$1"), reason));
    StringBuilder b = new StringBuilder(", not joined (of " + roster.size() + " on the roster): ");
    for (int i = 0; i < missing.size(); i++) {
      String site = missing.get(i);
      b.append(i == 0 ? "" : ", ").append(site);
      if (why.containsKey(site)) {
        b.append(" (refused at the TLS handshake: ").append(why.get(site)).append(')');
      }
    }
    return b.toString();
  }

  /**
   * Start-up check that the remaining rounds fit the sites' ceilings: prints, per site that does not fit them
   * all, how many do; refuses to start (IllegalStateException) when some remaining round could not reach its
   * quorum within budget and every site trains every round ({@code max_sites} unset), instead of running into a
   * budget pause. Sites whose spend per round depends on their size and who have not joined yet are checked when
   * they join.
   */
  void checkBudgetPlan(RoundEngine engine, PrivacyBudgets budgets, java.util.List<String> roster, StudyConfig study) {
    if (budgets == null || engine.status() == StudyStatusKind.FINISHED) {
      return;
    }
    int completed = (int) engine.history().stream().filter(RoundResult::quorumMet).count();
    int remaining = study.totalRounds() - completed;
    if (remaining <= 0) {
      return;
    }
    java.util.Map<String, Long> known = new java.util.TreeMap<>(engine.siteExamples());
    boolean independent = org.cloister.coordinator.budget.BudgetGuard.spendIndependentOfSiteSize(study.training());
    int unknown = 0;
    for (String site : roster) {
      if (!known.containsKey(site)) {
        if (independent) {
          known.put(site, 1L);
        } else {
          unknown++;
        }
      }
    }
    org.cloister.coordinator.budget.BudgetGuard.Plan plan = engine.budgetGuard().plan(known, unknown, study.training(),
        remaining, study.minSitesPerRound(), completed);
    for (String line : plan.lines()) {
      out.println("coordinator: budget: " + line);
    }
    out.flush();
    if (plan.refusal() != null) {
      if (study.maxSitesPerRound() > 0) {
        out.println("coordinator: budget: WARNING: " + plan.refusal() + " (if every site trained every round; with "
            + "max_sites " + study.maxSitesPerRound() + " they may not)");
        out.flush();
      } else {
        throw new IllegalStateException("refusing to start study " + study.studyId() + ": " + plan.refusal());
      }
    }
  }

  /** Runs the study; returns 0 when it finished, 1 when it paused. */
  public int run() throws Exception {
    ConfigMap c = ConfigMap.load(configFile, KEYS);
    TlsMaterial tls = TlsMaterial.load(c.section("tls", TlsMaterial.KEYS));
    ConfigMap s = c.section("study", STUDY_KEYS);
    ModelArchitecture arch = ModelZoo.byName(s.string("model", "logreg"));
    int features = s.integer("features", -1);
    int classes = s.integer("classes", 2);
    if (features < 1) {
      throw s.error("'study.features' must be given (number of input features)");
    }
    long seed = s.integer("seed", 42);
    // the initial weights are a public random initialization: they carry no patient data
    float[] w0 = initialWeights(arch.name(), features, classes, seed);
    String studyId = s.string("id");
    ModelArtifact m0 = StudyAssembly.initialModel(studyId, arch.name(), w0);
    int expected = c.strings("sites").size();
    StudyConfig study = new StudyConfig(studyId, arch.name(), w0.length, s.integer("rounds", 10),
        s.integer("min_sites", Math.max(1, expected == 0 ? 1 : (2 * expected + 2) / 3)), s.integer("max_sites", 0),
        Duration.ofMillis((long) (s.number("round_deadline_s", 120) * 1000)),
        Duration.ofMillis((long) (s.number("join_timeout_s", 600) * 1000)), s.integer("max_round_attempts", 3),
        TrainingConfig.newBuilder().setLocalEpochs(s.integer("local_epochs", 1)).setLocalSteps(s.integer("local_steps", 0))
            .setBatchSize(s.integer("batch_size", 32)).setLearningRate(s.number("learning_rate", 0.1)).setSeed(seed)
            .setDp(dpConfig(s)).build(),
        StudyConfig.defaultMaxUpdateBytes(w0.length), expected, Duration.ofSeconds(10), true);

    String strategy = s.string("strategy", "fedavg");
    SecureAggregationSetup.strategySpec(strategy); // names an unknown strategy, parameter or value
    if (!ServiceAggregation.plaintextRequested() && !c.has("aggregation")) {
      throw c.error("there is no 'aggregation:' section (the enclave and key broker of the kit `cloister provision` "
          + "wrote); -Dcloister.aggregation=plaintext runs the non-private development baseline instead");
    }

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CoordinatorMetrics metrics = new CoordinatorMetrics(registry);
    PrivacyBudgets budgets = budgets(c);
    try (ServiceAggregation aggregation = ServiceAggregation.plaintextRequested()
             ? ServiceAggregation.plaintext(w0.length, strategy, err)
             : ServiceAggregation.enclave(c.section("aggregation", ServiceAggregation.KEYS), study, strategy, err);
         // the coordinator's consortium key signs a checkpoint of the ledger head at every committed round
         StudyAssembly.AssembledStudy assembled = StudyAssembly.builder(study, m0)
             .database(c.jdbcUrl("database", "jdbc:sqlite:coordinator.db"))
             .checkpointSigner(new org.cloister.coordinator.ledger.CheckpointSigner(tls.key(), tls.chain().get(0)))
             .strategy(strategy).aggregator(aggregation.aggregator()).budgets(budgets).seed(seed).build()) {
      RoundEngine engine = assembled.engine();
      HandshakeRefusals refusals = new HandshakeRefusals(metrics::refused);
      checkBudgetPlan(engine, budgets, c.strings("sites"), study);
      // the operator's API (status, pause / resume / stop): only with operators named in admin.operators
      java.util.Set<String> operators = c.has("admin")
          ? new java.util.LinkedHashSet<>(c.section("admin", Set.of("operators")).strings("operators")) : Set.of();
      org.cloister.coordinator.service.StudyAdminService admin = operators.isEmpty() ? null
          : new org.cloister.coordinator.service.StudyAdminService(engine, c.strings("sites"), operators, budgets, refusals);
      engine.holdWhenPaused(admin != null);
      engine.addListener(metrics);
      if (budgets != null) {
        engine.addListener(new org.cloister.coordinator.budget.PrivacyMetrics(registry, engine.budgetGuard(), budgets));
      }
      java.util.List<String> roster = c.strings("sites");
      engine.addListener(new RoundListener() {
        @Override
        public void roundCompleted(RoundResult r) {
          out.printf(Locale.ROOT, "round %d (attempt %d): %s, %d of %d sites aggregated, model version %d%s%s%n", r.round(),
              r.attempt(), r.quorumMet() ? "aggregated" : "no quorum", r.aggregated().size(), r.selected().size(),
              r.modelVersion(), r.rejected().isEmpty() ? "" : ", left out: " + r.rejected(),
              notJoined(roster, engine.siteExamples().keySet(), refusals));
          out.flush();
        }
      });
      try (PrometheusEndpoint ep = new PrometheusEndpoint(c.address("metrics", "127.0.0.1:0"), registry).start();
           CoordinatorServer server = new CoordinatorServer(c.address("listen", "127.0.0.1:7443"),
               MutualTls.serverCredentials(tls.chain(), tls.key(), tls.trustRoot(), tls.revokedSerials(), refusals), engine,
               new CertificateIdentityResolver(), metrics::refused, b -> {
                 aggregation.registerServices(b);
                 if (admin != null) {
                   b.addService(io.grpc.ServerInterceptors.intercept(admin,
                       new org.cloister.coordinator.service.IdentityInterceptor(new CertificateIdentityResolver())));
                 }
               })) {
        server.start();
        out.printf(Locale.ROOT, "coordinator: aggregation: %s%n", aggregation.describe());
        out.printf(Locale.ROOT, "coordinator: study %s, %d rounds, listening on %s:%d (mTLS), metrics on port %d, %d rounds already recorded%n",
            studyId, study.totalRounds(), server.boundAddress().getAddress().getHostAddress(), server.port(), ep.port(), engine.history().size());
        out.flush();
        boolean announced = false;
        while (true) {
          if (engine.awaitEnd(Duration.ofSeconds(5))) {
            if (engine.status() == StudyStatusKind.FINISHED || admin == null) {
              break;
            }
            // paused, held for the operator: keep serving (status, resume, stop)
            if (!announced) {
              out.printf("coordinator: study %s paused: %s; waiting for `cloister study resume %s` or `cloister study "
                  + "stop %s` (operator kit)%n", studyId, engine.statusDetail(), studyId, studyId);
              out.flush();
              announced = true;
            }
            Thread.sleep(500);
          } else {
            announced = false;
          }
        }
        out.printf("coordinator: study %s %s: %s%s%n", studyId, engine.status().label(), engine.statusDetail(),
            notJoined(roster, engine.siteExamples().keySet(), refusals));
        out.flush();
        // let polling sites learn that the study ended before the server goes away
        Thread.sleep((long) (c.number("linger_s", 5) * 1000));
        return engine.status() == StudyStatusKind.FINISHED ? 0 : 1;
      }
    }
  }

}

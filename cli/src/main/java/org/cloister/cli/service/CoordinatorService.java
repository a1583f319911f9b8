package org.cloister.cli.service;

import org.cloister.cli.config.ConfigDir;
import org.cloister.cli.config.CoordinatorFile;
import org.cloister.protocol.v1.DpConfig;

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
    return Parameters.get(ModelZoo.newModel(arch, features, classes, seed, null, DataType.FLOAT));
  }

  /**
   * The sites' ceilings from the {@code privacy:} section ({@code epsilon}, {@code delta}, and
   * per-site overrides under {@code sites: {site-1: {epsilon: 2}}}); the section is required.
   */
  public static PrivacyBudgets budgets(Path configFile) {
    return budgets(ConfigDir.bind(configFile, CoordinatorFile.class));
  }

  static PrivacyBudgets budgets(ConfigDir.Bound<CoordinatorFile> bound) {
    // Fail closed: the binding refuses a missing, empty or partial privacy section; nothing here
    // turns budget enforcement off or picks a ceiling the operator did not write.
    CoordinatorFile c = bound.value();
    ConfigDir dir = bound.dir();
    CoordinatorFile.Privacy p = c.privacy();
    PrivacyBudgets.Ceiling dflt = ceiling(dir, "privacy", p.epsilon(), p.delta());
    java.util.Map<String, PrivacyBudgets.Ceiling> per = new java.util.TreeMap<>();
    if (p.sites() != null) {
      for (var e : p.sites().entrySet()) {
        if (!c.sites().contains(e.getKey())) {
          throw dir.error("'privacy.sites." + e.getKey() + "' is not a site on the roster (sites: " + c.sites() + ")");
        }
        CoordinatorFile.SiteCeiling one = e.getValue();
        per.put(e.getKey(), ceiling(dir, "privacy.sites." + e.getKey(),
            one.epsilon() != null ? one.epsilon() : dflt.epsilon(), one.delta() != null ? one.delta() : dflt.delta()));
      }
    }
    return new PrivacyBudgets(dflt, per);
  }

  private static PrivacyBudgets.Ceiling ceiling(ConfigDir dir, String key, double epsilon, double delta) {
    if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
      throw dir.error("'" + key + ".epsilon' must be a finite number > 0, got " + epsilon);
    }
    if (!(delta > 0 && delta < 1)) {
      throw dir.error("'" + key + ".delta' must be in (0, 1), got " + delta);
    }
    return new PrivacyBudgets.Ceiling(epsilon, delta);
  }

  /**
   * The study's DP-SGD settings ({@code study.dp}: {@code noise_multiplier}, {@code clip}, optional
   * {@code sampling_rate}); use {@code cloister privacy calibrate} to choose the noise multiplier
   * for a budget. Only {@code enabled: false}, alone, is a non-private study (which no site with a
   * budget will train for).
   */
  static org.cloister.protocol.v1.DpConfig dpConfig(ConfigDir dir, CoordinatorFile.Study study) {
    CoordinatorFile.Dp d = study.dp();
    if (Boolean.FALSE.equals(d.enabled())) {
      if (d.noiseMultiplier() != null || d.clip() != null || d.samplingRate() != null || d.countPrivate() != null) {
        throw dir.error("'study.dp.enabled' is false but other 'study.dp' keys are set: remove one or the other");
      }
      return org.cloister.protocol.v1.DpConfig.getDefaultInstance();
    }
    if (d.noiseMultiplier() == null || !(d.noiseMultiplier() > 0) || d.noiseMultiplier().isInfinite()) {
      throw dir.error("'study.dp.noise_multiplier' must be given and > 0 (see `cloister privacy calibrate`)");
    }
    if (d.clip() == null || !(d.clip() > 0) || d.clip().isInfinite()) {
      throw dir.error("'study.dp.clip' must be given and > 0 (the per-example clipping norm; it has no default)");
    }
    double q = d.samplingRate() == null ? 0 : d.samplingRate();
    if (q < 0 || q > 1) {
      throw dir.error("'study.dp.sampling_rate' must be in (0, 1]");
    }
    boolean countPrivate = Boolean.TRUE.equals(d.countPrivate());
    if (countPrivate && !(q > 0 && study.localSteps() != null && study.localSteps() > 0)) {
      throw dir.error("'study.dp.count_private' needs study.dp.sampling_rate and study.local_steps: otherwise q and the "
          + "step count depend on (and reveal) each site's record count");
    }
    return org.cloister.protocol.v1.DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(d.noiseMultiplier())
        .setClipNorm(d.clip()).setSamplingRate(q).setCountPrivate(countPrivate).build();
  }

  /**
   * The study's federated evaluation ({@code study.evaluation}: {@code noise_multiplier}, optional {@code bins}), or
   * null when there is none. Fails closed: evaluation without an explicit noise multiplier is refused; only
   * {@code enabled: false}, alone, or no block at all means no evaluation.
   */
  static org.cloister.protocol.v1.EvaluationConfig evaluationConfig(ConfigDir dir, CoordinatorFile.Study study) {
    CoordinatorFile.Evaluation e = study.evaluation();
    if (e == null) {
      return null;
    }
    if (Boolean.FALSE.equals(e.enabled())) {
      if (e.noiseMultiplier() != null || e.bins() != null) {
        throw dir.error("'study.evaluation.enabled' is false but other 'study.evaluation' keys are set: remove one or the other");
      }
      return null;
    }
    if (e.noiseMultiplier() == null || !(e.noiseMultiplier() > 0) || e.noiseMultiplier().isInfinite()) {
      throw dir.error("'study.evaluation.noise_multiplier' must be given and > 0: the sites' evaluation releases are "
          + "noised counts and the noise has no default (or set 'study.evaluation.enabled: false')");
    }
    int bins = e.bins() == null ? 10 : e.bins();
    String layout = org.cloister.protocol.EvaluationHistograms.layoutProblem(study.classes(), bins);
    if (layout != null) {
      throw dir.error("'study.evaluation.bins': " + layout);
    }
    return org.cloister.protocol.v1.EvaluationConfig.newBuilder().setNoiseMultiplier(e.noiseMultiplier()).setBins(bins)
        .setClasses(study.classes()).build();
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

  private static <T> T or(T value, T dflt) {
    return value != null ? value : dflt;
  }

  private static TrainingConfig training(ConfigDir dir, CoordinatorFile.Study s, long seed) {
    TrainingConfig.Builder b = TrainingConfig.newBuilder().setLocalEpochs(or(s.localEpochs(), 1))
        .setLocalSteps(or(s.localSteps(), 0)).setBatchSize(or(s.batchSize(), 32)).setLearningRate(or(s.learningRate(), 0.1))
        .setSeed(seed).setDp(dpConfig(dir, s));
    org.cloister.protocol.v1.EvaluationConfig evaluation = evaluationConfig(dir, s);
    if (evaluation != null) {
      b.setEvaluation(evaluation);
    }
    return b.build();
  }

  /**
   * Fails at once, naming the key and the file, when {@code listen} cannot be bound (a port another process holds, an
   * address that is not this host's); the server binds it for real later, after the enclave has started.
   */
  static void checkBindable(java.net.InetSocketAddress listen, String source) throws java.io.IOException {
    if (listen.getPort() == 0) {
      return;
    }
    try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
      probe.bind(listen);
    } catch (java.io.IOException e) {
      String m = String.valueOf(e.getMessage());
      throw new java.io.IOException("'listen' " + listen.getHostString() + ":" + listen.getPort() + " in " + source
          + ": cannot bind the address: " + m + (m.contains("in use")
          ? " (another process holds the port: stop it or choose another port)"
          : m.contains("assign") ? " (not an address of this host: listen on 0.0.0.0:PORT or one of its own addresses)"
          : ""), e);
    }
  }

  /**
   * The address the server bound, as an operator reads it: all interfaces as 0.0.0.0 (or [::] when configured so;
   * Java binds 0.0.0.0 as the IPv6 wildcard, whose text is 0:0:0:0:0:0:0:0%0), an IPv6 address in brackets.
   */
  static String boundHost(java.net.InetAddress bound, java.net.InetSocketAddress configured) {
    if (bound.isAnyLocalAddress()) {
      return configured.getAddress() instanceof java.net.Inet6Address ? "[::]" : "0.0.0.0";
    }
    return bound instanceof java.net.Inet6Address ? "[" + bound.getHostAddress().replaceAll("%.*$", "") + "]"
        : bound.getHostAddress();
  }

  /** Runs the study; returns 0 when it finished, 1 when it paused. */
  public int run() throws Exception {
    ConfigDir.Bound<CoordinatorFile> bound = ConfigDir.bind(configFile, CoordinatorFile.class);
    CoordinatorFile c = bound.value();
    ConfigDir dir = bound.dir();
    evaluationConfig(dir, c.study()); // a privacy setting: refused before anything is read or started
    TlsMaterial tls = TlsMaterial.load(dir, c.tls());
    CoordinatorFile.Study s = c.study();
    ModelArchitecture arch = ModelZoo.byName(or(s.model(), "logreg"));
    int features = s.features();
    int classes = s.classes();
    if (features < 1) {
      throw dir.error("'study.features' must be >= 1 (number of input features), got " + features);
    }
    if (classes < 2) {
      throw dir.error("'study.classes' must be >= 2, got " + classes);
    }
    long seed = or(s.seed(), 42);
    // the initial weights are a public random initialization: they carry no patient data
    float[] w0 = initialWeights(arch.name(), features, classes, seed);
    String studyId = s.id();
    ModelArtifact m0 = StudyAssembly.initialModel(studyId, arch.name(), w0);
    java.util.List<String> roster = c.sites();
    int expected = roster.size();
    StudyConfig study = new StudyConfig(studyId, arch.name(), w0.length, or(s.rounds(), 10),
        or(s.minSites(), Math.max(1, expected == 0 ? 1 : (2 * expected + 2) / 3)), or(s.maxSites(), 0),
        Duration.ofMillis((long) (or(s.roundDeadlineSeconds(), 120.0) * 1000)),
        Duration.ofMillis((long) (or(s.joinTimeoutSeconds(), 600.0) * 1000)), or(s.maxRoundAttempts(), 3),
        training(dir, s, seed),
        StudyConfig.defaultMaxUpdateBytes(w0.length), expected, Duration.ofSeconds(10), true);

    String strategy = or(s.strategy(), "fedavg");
    SecureAggregationSetup.strategySpec(strategy); // names an unknown strategy, parameter or value
    if (!ServiceAggregation.plaintextRequested() && c.aggregation() == null) {
      throw dir.error("there is no 'aggregation:' section (the enclave and key broker of the kit `cloister provision` "
          + "wrote); -Dcloister.aggregation=plaintext runs the non-private development baseline instead");
    }

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CoordinatorMetrics metrics = new CoordinatorMetrics(registry);
    PrivacyBudgets budgets = budgets(bound);
    DpConfig dp = study.training().getDp();
    // the privacy settings in force, printed: nothing privacy-relevant is a silent default
    out.printf(Locale.ROOT, "coordinator: privacy: ceilings epsilon %s, delta %s per site%s; study DP-SGD %s%n",
        budgets.defaultCeiling().epsilon(), budgets.defaultCeiling().delta(),
        budgets.perSite().isEmpty() ? "" : " (overrides for " + budgets.perSite().keySet() + ")",
        dp.getEnabled() ? "noise multiplier " + dp.getNoiseMultiplier() + ", clip " + dp.getClipNorm()
            + (dp.getSamplingRate() > 0 ? ", sampling rate " + dp.getSamplingRate() : "")
            + (dp.getCountPrivate() ? ", count-private" : "")
            : "OFF (study.dp.enabled: false)");
    out.printf(Locale.ROOT, "coordinator: privacy: %s%n",
        org.cloister.coordinator.service.StudyAdminService.evaluationLabel(study.training()));
    out.flush();
    java.net.InetSocketAddress listen = dir.address("listen", or(c.listen(), "127.0.0.1:7443"));
    checkBindable(listen, dir.source()); // before the key broker and enclave start, not after them
    try (ServiceAggregation aggregation = ServiceAggregation.plaintextRequested()
             ? ServiceAggregation.plaintext(w0.length, strategy, err)
             : ServiceAggregation.enclave(dir, c.aggregation(), study, strategy, err);
         // the coordinator's consortium key signs a checkpoint of the ledger head at every committed round
         StudyAssembly.AssembledStudy assembled = StudyAssembly.builder(study, m0)
             .database(dir.jdbcUrl(or(c.database(), "jdbc:sqlite:coordinator.db")))
             .checkpointSigner(new org.cloister.coordinator.ledger.CheckpointSigner(tls.key(), tls.chain().get(0)))
             .strategy(strategy).aggregator(aggregation.aggregator()).budgets(budgets).seed(seed).build()) {
      RoundEngine engine = assembled.engine();
      HandshakeRefusals refusals = new HandshakeRefusals(metrics::refused);
      checkBudgetPlan(engine, budgets, roster, study);
      // the operator's API (status, pause / resume / stop): only with operators named in admin.operators
      java.util.Set<String> operators = c.admin() != null
          ? new java.util.LinkedHashSet<>(c.admin().operators()) : Set.of();
      org.cloister.coordinator.service.StudyAdminService admin = operators.isEmpty() ? null
          : new org.cloister.coordinator.service.StudyAdminService(engine, roster, operators, budgets, refusals);
      engine.holdWhenPaused(admin != null);
      engine.addListener(metrics);
      metrics.watchStudy(engine::currentRound, () -> (int) engine.history().stream().filter(RoundResult::quorumMet).count(),
          study.totalRounds(), () -> engine.siteExamples().size(), roster.size());
      if (budgets != null) {
        engine.addListener(new org.cloister.coordinator.budget.PrivacyMetrics(registry, engine.budgetGuard(), budgets));
      }
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
      try (PrometheusEndpoint ep = new PrometheusEndpoint(dir.address("metrics", or(c.metrics(), "127.0.0.1:0")), registry).start();
           CoordinatorServer server = new CoordinatorServer(listen,
               MutualTls.serverCredentials(tls.chain(), tls.key(), tls.trustRoot(), tls.revokedSerials(), refusals), engine,
               new CertificateIdentityResolver(), metrics::refused, b -> {
                 aggregation.registerServices(b);
                 if (admin != null) {
                   b.addService(io.grpc.ServerInterceptors.intercept(admin,
                       new org.cloister.coordinator.service.IdentityInterceptor(new CertificateIdentityResolver())));
                 }
               }, aggregation.taskAttachments())) {
        server.start();
        out.printf(Locale.ROOT, "coordinator: aggregation: %s%n", aggregation.describe());
        out.printf(Locale.ROOT, "coordinator: study %s, %d rounds, listening on %s:%d (mTLS), metrics on port %d, %d rounds already recorded%n",
            studyId, study.totalRounds(), boundHost(server.boundAddress().getAddress(), listen), server.port(), ep.port(),
            engine.history().size());
        out.flush();
        boolean announced = false;
        while (true) {
          // fail-stop: without its enclave no round can be aggregated (the sites' updates are sealed to it),
          // and a study would pause for a reason that is not the real one; a supervisor (or the operator)
          // starts the coordinator again, which starts a new enclave and broker, and the study resumes
          java.util.Optional<String> gone = aggregation.exitedProcess();
          if (gone.isPresent()) {
            out.printf("coordinator: %s exited: stopping, as no round can be aggregated without it. Start the "
                + "coordinator again (it starts the enclave and key broker again; study %s resumes from its database)%n",
                gone.get(), studyId);
            out.flush();
            // stop as a crash does, not by closing the server: a closing round engine answers the sites'
            // polls with "study finished", and they quit a study that is not (the chaos run of 5 December 2026)
            Runtime.getRuntime().halt(1);
          }
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
        Thread.sleep((long) (or(c.lingerSeconds(), 5.0) * 1000));
        return engine.status() == StudyStatusKind.FINISHED ? 0 : 1;
      }
    }
  }

}

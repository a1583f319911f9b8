package org.cloister.simulations.engine;

import com.google.protobuf.ByteString;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.ledger.CheckpointSigner;
import org.cloister.coordinator.rounds.RequestRejectedException;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.rounds.RoundListener;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.data.Dataset;
import org.cloister.dp.events.DpEvent;
import org.cloister.models.EvaluationMetrics;
import org.cloister.models.Evaluator;
import org.cloister.models.ModelArchitecture;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.cloister.simulations.ConsortiumCredentials;
import org.cloister.simulations.DpPlanner;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SecureAggregationStack;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import org.cloister.simulations.SimulatedStudy;
import org.cloister.coordinator.study.StudyAssembly;
import org.cloister.simulations.SiteReport;
import org.cloister.trust.pki.IssuedCertificate;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code inprocess} engine: the coordinator's real {@link RoundEngine} (quorum, strategy,
 * budget guard, signed privacy ledger in SQLite) drives virtual sites that are tasks on a bounded
 * worker pool instead of gRPC clients: no channel, no TLS, no per-site thread. Each worker owns one
 * reusable network; a site keeps only its compact state ({@link VirtualSite}: its RNG streams, its
 * spent DP events, its certificate once it first trains). Each site trains with the same
 * {@link DpSgdLocalTrainer}, the same seeds and the same budget as in the {@code grpc} engine, and
 * signs its spend with its consortium certificate, which the round engine verifies and records.
 * Updates are aggregated with the enclave's own arithmetic ({@link KernelAggregator}), so a study
 * gives the same figures on both engines.
 */
public final class InProcessSimulation {
  private static final Logger log = LoggerFactory.getLogger(InProcessSimulation.class);

  private final SimulationConfig cfg;
  private final SiteSource source;
  private final Dispatcher dispatcher;
  private final Consumer<RoundReport> progress;
  private final boolean secureAggregation;

  /**
   * @param source  the sites' data (a partitioned dataset, or generated per site on demand)
   * @param workers sites that train at the same time (threads, each with one network)
   */
  public InProcessSimulation(SimulationConfig cfg, SiteSource source, int workers, Consumer<RoundReport> progress) {
    this(cfg, source, pool(workers), progress, false);
  }

  /** @param dispatcher how the sites of a round are trained (closed when the study ends) */
  public InProcessSimulation(SimulationConfig cfg, SiteSource source, Dispatcher dispatcher, Consumer<RoundReport> progress) {
    this(cfg, source, dispatcher, progress, false);
  }

  /**
   * @param secureAggregation sites seal their updates and sign contribution statements, aggregated by
   *     the enclave's own code path in this process ({@link InProcessEnclave}); otherwise plaintext
   *     updates summed with the enclave's arithmetic ({@link KernelAggregator})
   */
  public InProcessSimulation(SimulationConfig cfg, SiteSource source, Dispatcher dispatcher, Consumer<RoundReport> progress,
                             boolean secureAggregation) {
    this.secureAggregation = secureAggregation;
    if (source.sites() != cfg.sites()) {
      throw new IllegalArgumentException("the site source holds " + source.sites() + " sites but the study has " + cfg.sites());
    }
    this.cfg = cfg;
    this.source = source;
    this.dispatcher = dispatcher;
    this.progress = progress;
  }

  /**
   * How the virtual sites of a round are trained: on this process's worker pool ({@link #pool}), or
   * elsewhere (the {@code spark} engine's executors). Everything else (round engine, strategy, budget
   * guard, ledger, evaluation, reports) is the same for every dispatcher.
   */
  public interface Dispatcher extends AutoCloseable {
    /** Called once before round 1. */
    void start(Study study);

    /** The aggregator the round engine calls ({@code kernel}: the enclave arithmetic on plaintext updates). */
    Aggregator aggregator(KernelAggregator kernel);

    /**
     * Trains the {@code selected} sites on {@code global} and submits their updates with
     * {@link Study#submit}; may return before they finish. A failure is reported with
     * {@link Study#fail}.
     */
    void roundOpened(RoundTask task, float[] global, List<String> selected);

    /** Each site's released DP events so far, for its final epsilon (the sites' own accountants). */
    Map<String, List<DpEvent>> spentBySite();

    @Override
    void close();
  }

  /** What a dispatcher gets from the study: its settings and the coordinator it submits to. */
  public interface Study {
    SimulationConfig config();

    SiteSource source();

    SiteRecipe recipe();

    ModelArchitecture architecture();

    int inputs();

    int classes();

    /** The consortium CA (it issues each site's certificate on its first round). */
    ConsortiumCredentials consortium();

    /**
     * The in-process secure aggregator sites seal to ({@code --secure-aggregation}), or null when
     * updates go to the plaintext kernel.
     */
    InProcessEnclave enclave();

    /** Hands a site's update to the coordinator; a refusal is logged (its spend is recorded). */
    void submit(String siteId, java.security.cert.X509Certificate certificate, UpdateEnvelope env);

    void fail(Throwable t);
  }

  public SimulationResult run() throws Exception {
    long started = System.currentTimeMillis();
    Dataset test = source.test();
    int nIn = test.numFeatures();
    int k = test.numClasses();
    // every virtual site answers (no stragglers in-process): the deadline only bounds a stuck round
    Duration deadline = cfg.roundDeadline().multipliedBy(Math.max(1, cfg.sites() / 100));
    SimulatedStudy simulated = SimulatedStudy.prepare(cfg, test, source.sizes(), source.preprocessingEvent(), deadline);
    ModelArchitecture arch = simulated.architecture();
    ConsortiumCredentials pki = simulated.pki();
    int dimension = simulated.dimension();
    double bound = Double.parseDouble(System.getProperty("cloister.enclave.max-update-norm",
        String.valueOf(SecureAggregationStack.DEFAULT_MAX_UPDATE_NORM)));
    KernelAggregator aggregator = new KernelAggregator(dimension, bound, SecureAggregationStack.cohortFloor(cfg.sites()),
        org.cloister.consortium.SecureAggregationSetup.strategySpec(cfg.strategy()));

    List<String> siteIds = new ArrayList<>(cfg.sites());
    long[] examples = new long[cfg.sites()];
    for (int s = 0; s < cfg.sites(); s++) {
      siteIds.add(VirtualSite.siteId(s));
      examples[s] = source.size(s);
    }
    Model evalNet = simulated.newEvaluationNetwork();
    List<RoundReport> reports = new ArrayList<>();
    Map<String, Double> epsilonSoFar = new TreeMap<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicReference<RoundEngine> engineRef = new AtomicReference<>();
    SiteRecipe recipe = SiteRecipe.of(cfg);
    InProcessEnclave enclave = !secureAggregation ? null : new InProcessEnclave(aggregator,
        new org.cloister.enclave.AggregationPolicy(org.cloister.enclave.AggregationPolicy.FORMAT, cfg.studyId(),
            simulated.initialModel().getModelName(), dimension, bound, cfg.minSitesPerRound(), aggregator.cohortFloor(), null,
            org.cloister.consortium.SecureAggregationSetup.strategySpec(cfg.strategy())),
        siteIds, pki.caCertificate(), new java.security.SecureRandom());
    dispatcher.start(new Study() {
      @Override
      public InProcessEnclave enclave() {
        return enclave;
      }

      @Override
      public SimulationConfig config() {
        return cfg;
      }

      @Override
      public SiteSource source() {
        return source;
      }

      @Override
      public SiteRecipe recipe() {
        return recipe;
      }

      @Override
      public ModelArchitecture architecture() {
        return arch;
      }

      @Override
      public int inputs() {
        return nIn;
      }

      @Override
      public int classes() {
        return k;
      }

      @Override
      public ConsortiumCredentials consortium() {
        return pki;
      }

      @Override
      public void submit(String siteId, java.security.cert.X509Certificate certificate, UpdateEnvelope env) {
        try {
          engineRef.get().submit(siteId, certificate, env);
        } catch (RequestRejectedException e) {
          log.warn("site {}: update for round {} not accepted: {}", siteId, env.getRound(), e.getMessage());
        }
      }

      @Override
      public void fail(Throwable t) {
        failure.compareAndSet(null, t);
        engineRef.get().stop();
      }
    });
    StudyAssembly.AssembledStudy coordinator = simulated.coordinator(
        enclave != null ? enclave : dispatcher.aggregator(aggregator)).build();
    RoundEngine engine = coordinator.engine();
    engineRef.set(engine);
    Thread engineThread = new Thread(engine, "round-engine");
    engineThread.setDaemon(true);
    try {
      engine.addListener(new RoundListener() {
        @Override
        public void roundOpened(RoundTask task, List<String> selected) {
          if (enclave != null) {
            enclave.open(task); // its challenge, before any site trains
          }
          dispatcher.roundOpened(task, FloatCodec.decode(task.getModel().getPayload(), dimension), selected);
        }

        @Override
        public void roundCompleted(RoundResult r) {
          r.siteMetrics().forEach((site, metrics) -> {
            Double eps = metrics.get("epsilon");
            if (eps != null && Double.isFinite(eps)) {
              epsilonSoFar.merge(site, eps, Math::max);
            }
          });
          for (int s = 0; s < siteIds.size(); s++) { // virtual sites are always reachable: keep them eligible
            engine.join(siteIds.get(s), examples[s]);
          }
          RoundReport rep;
          if (!r.quorumMet()) {
            rep = new RoundReport(r.round(), r.modelVersion(), r.aggregated(), r.rejected(), Double.NaN, Double.NaN, Double.NaN,
                r.durationMillis(), epsilonSoFar);
          } else {
            ModelArtifact m = engine.model(r.modelVersion()).orElseThrow();
            Parameters.set(evalNet, FloatCodec.decode(m.getPayload(), dimension));
            EvaluationMetrics em = Evaluator.evaluate(evalNet, test);
            rep = new RoundReport(r.round(), r.modelVersion(), r.aggregated(), r.rejected(), em.accuracy(), em.auc(),
                em.logLoss(), r.durationMillis(), epsilonSoFar);
            reports.add(rep);
          }
          progress.accept(rep);
        }
      });
      for (int s = 0; s < siteIds.size(); s++) {
        engine.join(siteIds.get(s), examples[s]);
      }
      engineThread.start();
      long budget = deadline.toMillis() * cfg.rounds() * 3 + 60_000;
      if (!engine.awaitEnd(Duration.ofMillis(budget))) {
        throw new IllegalStateException("study did not finish within " + budget / 1000 + " s");
      }
      if (failure.get() != null) {
        throw new IllegalStateException("a virtual site failed: " + failure.get(), failure.get());
      }
      // each site's epsilon from its own spent events, with the coordinator's accountant, as the grpc engine reports it
      BudgetGuard accountant = SimulatedStudy.accountant(cfg, coordinator.store());
      Map<String, Integer> contributed = new TreeMap<>();
      for (RoundResult r : engine.history()) {
        r.aggregated().forEach(id -> contributed.merge(id, 1, Integer::sum));
      }
      Map<String, List<DpEvent>> spent = dispatcher.spentBySite();
      List<SiteReport> siteReports = siteIds.parallelStream().map(id -> new SiteReport(id,
          (int) examples[VirtualSite.siteIndex(id)], contributed.getOrDefault(id, 0),
          simulated.epsilon(accountant, id, spent.getOrDefault(id, List.of())), simulated.reportedDelta())).toList();
      ModelArtifact last = engine.model(0).orElseThrow();
      Parameters.set(evalNet, FloatCodec.decode(last.getPayload(), dimension));
      EvaluationMetrics fin = Evaluator.evaluate(evalNet, test);
      String status = engine.status().label() + (engine.statusDetail().isEmpty() ? "" : ": " + engine.statusDetail());
      return new SimulationResult(cfg, reports, fin, siteReports, status, System.currentTimeMillis() - started,
          simulated.noiseMultiplier());
    } finally {
      engine.stop();
      dispatcher.close();
      engineThread.join(10_000);
      coordinator.close();
    }
  }

  /** The {@code inprocess} dispatcher: each selected site is a task on a pool of {@code workers} threads, each with one network. */
  public static Dispatcher pool(int workers) {
    if (workers < 1) {
      throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
    }
    return new Dispatcher() {
      private final Map<String, VirtualSite> sites = new ConcurrentHashMap<>();
      private Study study;
      private ThreadLocal<Model> nets;
      private ExecutorService pool;
      private ExecutorService coordinator;
      private final org.cloister.trust.hpke.Hpke hpke = new org.cloister.trust.hpke.Hpke();

      @Override
      public void start(Study s) {
        this.study = s;
        SimulationConfig cfg = s.config();
        nets = ThreadLocal.withInitial(() -> ModelZoo.newModel(s.architecture(), s.inputs(), s.classes(), cfg.seed(),
            new Sgd(cfg.learningRate()), DataType.FLOAT));
        pool = Executors.newFixedThreadPool(workers, r -> {
          Thread t = new Thread(r, "site-worker");
          t.setDaemon(true);
          return t;
        });
        coordinator = Executors.newSingleThreadExecutor(r -> {
          Thread t = new Thread(r, "coordinator-submit");
          t.setDaemon(true);
          return t;
        });
      }

      @Override
      public Aggregator aggregator(KernelAggregator kernel) {
        return kernel;
      }

      @Override
      public void roundOpened(RoundTask task, float[] global, List<String> selected) {
        InProcessEnclave enclave = study.enclave();
        org.cloister.enclave.aggregation.ContributionVerifier.OpenRound open = enclave == null ? null
            : enclave.opened(task.getRoundId());
        for (String id : selected) {
          VirtualSite site = sites.computeIfAbsent(id, i -> {
            int index = VirtualSite.siteIndex(i);
            return new VirtualSite(index, study.source().size(index));
          });
          pool.execute(() -> {
            try {
              synchronized (site) {
                site.train(task, global, nets.get(), study.source(), study.recipe(), study.consortium()::issue)
                    .ifPresent(t -> {
                      var env = open == null
                          ? t.envelope(task, FloatCodec.DELTA_F32LE, ByteString.copyFrom(FloatCodec.encode(t.update().delta())))
                          : site.sealedEnvelope(t, task, enclave.publicKey(), open.challenge(), open.baseModelSha256(), hpke);
                      // the site has sent its update: the coordinator verifies the spend, records it durably
                      // (SQLite, synchronous=FULL) and accepts the update on its own thread, while this
                      // worker trains the next site (as a deployed site does not wait on the coordinator's disk)
                      coordinator.execute(() -> {
                        try {
                          study.submit(t.siteId(), t.certificate(), env);
                        } catch (RuntimeException | Error e) {
                          log.error("the coordinator failed on the update of {} in round {}", t.siteId(), task.getRound(), e);
                          study.fail(e);
                        }
                      });
                    });
              }
            } catch (RuntimeException | Error e) {
              log.error("virtual site {} failed in round {}", site.id(), task.getRound(), e);
              study.fail(e);
            }
          });
        }
      }

      @Override
      public Map<String, List<DpEvent>> spentBySite() {
        Map<String, List<DpEvent>> out = new TreeMap<>();
        sites.forEach((id, site) -> out.put(id, site.spent()));
        return out;
      }

      @Override
      public void close() {
        if (pool != null) {
          pool.shutdownNow();
          coordinator.shutdownNow();
        }
      }
    };
  }
}

package org.cloister.simulations.engine;

import com.google.protobuf.ByteString;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.ledger.CheckpointSigner;
import org.cloister.coordinator.rounds.RequestRejectedException;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.rounds.RoundListener;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.coordinator.strategy.Strategies;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.data.Dataset;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.noise.SecureGaussianNoise;
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
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.dp.DpSgdLocalTrainer;
import org.cloister.site.ledger.DatasetFingerprint;
import org.cloister.site.ledger.SpendSigner;
import org.cloister.site.plain.PlainSgdTrainer;
import org.cloister.site.training.PrivacyBudget;
import org.cloister.trust.pki.IssuedCertificate;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
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
  private final int workers;
  private final Consumer<RoundReport> progress;

  /**
   * @param source  the sites' data (a partitioned dataset, or generated per site on demand)
   * @param workers sites that train at the same time (threads, each with one network)
   */
  public InProcessSimulation(SimulationConfig cfg, SiteSource source, int workers, Consumer<RoundReport> progress) {
    if (workers < 1) {
      throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
    }
    if (source.sites() != cfg.sites()) {
      throw new IllegalArgumentException("the site source holds " + source.sites() + " sites but the study has " + cfg.sites());
    }
    this.cfg = cfg;
    this.source = source;
    this.workers = workers;
    this.progress = progress;
  }

  /** A virtual site's compact state between rounds. */
  private static final class VirtualSite {
    final int index;
    final String id;
    final long examples;
    final List<DpEvent> spent = new ArrayList<>(2);
    SecureGaussianNoise noise;
    SplittableRandom sampling;
    IssuedCertificate certificate;
    SpendSigner signer;
    boolean preprocessingSpent;

    VirtualSite(int index, long examples) {
      this.index = index;
      this.id = siteId(index);
      this.examples = examples;
    }
  }

  public SimulationResult run() throws Exception {
    long started = System.currentTimeMillis();
    Dataset test = source.test();
    // every virtual site answers (no stragglers in-process): the deadline only bounds a stuck round
    Duration deadline = cfg.roundDeadline().multipliedBy(Math.max(1, cfg.sites() / 100));
    SimulatedStudy study = SimulatedStudy.prepare(cfg, test, source.sizes(), source.preprocessingEvent(), deadline);
    ConsortiumCredentials pki = study.pki();
    TrainingConfig training = study.training();
    int dimension = study.dimension();
    double bound = Double.parseDouble(System.getProperty("cloister.enclave.max-update-norm",
        String.valueOf(SecureAggregationStack.DEFAULT_MAX_UPDATE_NORM)));
    KernelAggregator aggregator = new KernelAggregator(dimension, bound, SecureAggregationStack.cohortFloor(cfg.sites()),
        org.cloister.consortium.SecureAggregationSetup.strategySpec(cfg.strategy()));
    StudyAssembly.AssembledStudy coordinator = study.coordinator(aggregator).build();
    RoundEngine engine = coordinator.engine();

    List<VirtualSite> sites = new ArrayList<>(cfg.sites());
    for (int s = 0; s < cfg.sites(); s++) {
      sites.add(new VirtualSite(s, source.size(s)));
    }
    ThreadLocal<MultiLayerNetwork> nets = ThreadLocal.withInitial(() -> study.newNetwork(0));
    ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
      Thread t = new Thread(r, "site-worker");
      t.setDaemon(true);
      return t;
    });
    MultiLayerNetwork evalNet = study.newEvaluationNetwork();
    List<RoundReport> reports = new ArrayList<>();
    Map<String, Double> epsilonSoFar = new TreeMap<>();
    Map<String, String> sitOut = new ConcurrentHashMap<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread engineThread = new Thread(engine, "round-engine");
    engineThread.setDaemon(true);
    try {
      engine.addListener(new RoundListener() {
        @Override
        public void roundOpened(RoundTask task, List<String> selected) {
          float[] global = FloatCodec.decode(task.getModel().getPayload(), dimension);
          for (String id : selected) {
            VirtualSite site = sites.get(siteIndex(id));
            pool.execute(() -> {
              try {
                trainAndSubmit(site, task, global, nets.get(), engine, study);
              } catch (RuntimeException | Error e) {
                failure.compareAndSet(null, e);
                log.error("virtual site {} failed in round {}", site.id, task.getRound(), e);
              }
            });
          }
        }

        @Override
        public void roundCompleted(RoundResult r) {
          r.siteMetrics().forEach((site, metrics) -> {
            Double eps = metrics.get("epsilon");
            if (eps != null && Double.isFinite(eps)) {
              epsilonSoFar.merge(site, eps, Math::max);
            }
          });
          for (VirtualSite s : sites) { // virtual sites are always reachable: keep them eligible
            engine.join(s.id, s.examples);
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
      for (VirtualSite s : sites) {
        engine.join(s.id, s.examples);
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
      List<Future<SiteReport>> reportsPerSite = new ArrayList<>();
      for (VirtualSite s : sites) {
        reportsPerSite.add(pool.submit(() -> new SiteReport(s.id, (int) s.examples, contributed.getOrDefault(s.id, 0),
            study.epsilon(accountant, s.id, s.spent), study.reportedDelta())));
      }
      List<SiteReport> siteReports = new ArrayList<>();
      for (Future<SiteReport> f : reportsPerSite) {
        siteReports.add(f.get());
      }
      ModelArtifact last = engine.model(0).orElseThrow();
      Parameters.set(evalNet, FloatCodec.decode(last.getPayload(), dimension));
      EvaluationMetrics fin = Evaluator.evaluate(evalNet, test);
      String status = engine.status().label() + (engine.statusDetail().isEmpty() ? "" : ": " + engine.statusDetail());
      return new SimulationResult(cfg, reports, fin, siteReports, status, System.currentTimeMillis() - started,
          study.noiseMultiplier());
    } finally {
      engine.stop();
      pool.shutdownNow();
      engineThread.join(10_000);
      coordinator.close();
    }
  }

  /** One virtual site's round: train, sign the spend, hand the update to the round engine (what SiteAgent does over gRPC). */
  private void trainAndSubmit(VirtualSite site, RoundTask task, float[] global, MultiLayerNetwork net, RoundEngine engine,
                              SimulatedStudy study) {
    synchronized (site) {
      if (site.certificate == null) {
        site.certificate = study.pki().issue(site.id);
        site.signer = study.signer(site.index, site.certificate);
      }
      if (site.noise == null) { // the grpc engine's streams for this site (FederatedSimulation)
        site.noise = study.noise(site.index);
        site.sampling = study.sampling(site.index);
      }
      LocalTrainer trainer = study.trainer(net, source.site(site.index), site.noise, site.sampling, () -> site.spent,
          site.preprocessingSpent ? null : source.preprocessingEvent());
      LocalUpdate update;
      try {
        update = trainer.train(global, task);
      } catch (RuntimeException e) { // e.g. the site's own budget guard: it sits the round out, as SiteAgent does
        log.warn("site {}: round {} not trained: {}", site.id, task.getRound(), e.getMessage());
        return;
      }
      site.preprocessingSpent = true;
      var spend = site.signer.sign(task, update);
      site.spent.add(update.spent()); // spent when it leaves the site, accepted or not
      UpdateEnvelope env = UpdateEnvelope.newBuilder()
          .setStudyId(task.getStudyId()).setRound(task.getRound()).setRoundId(task.getRoundId())
          .setBaseModelVersion(task.getModel().getVersion()).setNumExamples(update.numExamples())
          .setPayloadFormat(FloatCodec.DELTA_F32LE).setPayload(ByteString.copyFrom(FloatCodec.encode(update.delta())))
          .putAllMetrics(update.metrics()).setSpend(spend).build();
      try {
        engine.submit(site.id, site.certificate.certificate(), env);
      } catch (RequestRejectedException e) {
        log.warn("site {}: update for round {} not accepted: {}", site.id, task.getRound(), e.getMessage());
      }
    }
  }

  static String siteId(int index) {
    return SimulatedStudy.siteId(index);
  }

  static int siteIndex(String id) {
    return Integer.parseInt(id.substring("site-".length())) - 1;
  }
}

package org.cloister.simulations;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.rounds.RoundListener;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.service.CoordinatorServer;
import org.cloister.coordinator.service.CertificateIdentityResolver;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.study.StudyAssembly;
import org.cloister.data.Dataset;
import org.cloister.models.EvaluationMetrics;
import org.cloister.models.Evaluator;
import org.cloister.models.Parameters;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.FetchModelRequest;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.SiteAgent;
import org.cloister.site.agent.SiteRoundRecord;
import org.cloister.site.ledger.SiteLedger;
import org.deeplearning4j.nn.api.Model;

/**
 * Runs a whole study on one machine through the real code paths: a coordinator gRPC server on
 * loopback, one site agent per virtual hospital talking gRPC to it, and an evaluator that fetches
 * each new global model over gRPC and scores it on the held-out test split.
 */
public final class FederatedSimulation {
  private static final String EVALUATOR = "evaluator";

  private final SimulationConfig cfg;
  private final Consumer<RoundReport> progress;

  public FederatedSimulation(SimulationConfig cfg, Consumer<RoundReport> progress) {
    this.cfg = cfg;
    this.progress = progress;
  }

  public SimulationResult run() throws Exception {
    long started = System.currentTimeMillis();
    SimulationData data = SimulationData.prepare(cfg);
    Dataset test = data.test();
    SimulatedStudy study = SimulatedStudy.prepare(cfg, test, data.sitePartitions().stream().map(Dataset::size).toList(),
        data.preprocessingEvent(), cfg.roundDeadline());
    ConsortiumCredentials pki = study.pki();
    List<String> members = new ArrayList<>();
    for (int s = 0; s < cfg.sites(); s++) {
      members.add(siteId(s));
    }
    members.add(EVALUATOR);
    AggregationStack secure = AggregationStack.forSimulation(cfg, study.initialModel(), members,
        java.util.Set.of(EVALUATOR), pki); // enclave + key broker processes
    StudyAssembly.AssembledStudy coordinator;
    try {
      coordinator = study.coordinator(secure.aggregator()).build();
    } catch (RuntimeException e) {
      secure.close();
      throw e;
    }
    RoundEngine engine = coordinator.engine();

    List<RoundReport> reports = new ArrayList<>();
    Model evalNet = study.newEvaluationNetwork();
    List<ManagedChannel> channels = new ArrayList<>();
    List<SiteLedger> ledgers = new ArrayList<>();
    // one agent thread per virtual hospital, mostly waiting on its long poll; training itself is
    // bounded to the cores (trainingSlots) so 100 sites do not oversubscribe the machine
    ExecutorService pool = Executors.newFixedThreadPool(cfg.sites(), r -> {
      Thread t = new Thread(r, "virtual-site");
      t.setDaemon(true);
      return t;
    });
    java.util.concurrent.Semaphore trainingSlots = new java.util.concurrent.Semaphore(trainingSlots(cfg.sites()));
    try (CoordinatorServer server = new CoordinatorServer(new InetSocketAddress("127.0.0.1", 0), pki.serverCredentials(),
        engine, new CertificateIdentityResolver(), (rpc, reason) -> { }, secure::registerServices, secure.taskAttachments())) {
      server.start();
      ManagedChannel evalChannel = channel(server.port(), pki.clientCredentials(pki.issue(EVALUATOR)));
      channels.add(evalChannel);
      FederationGrpc.FederationBlockingStub evaluator = FederationGrpc.newBlockingStub(evalChannel);
      Map<String, Double> epsilonSoFar = new java.util.TreeMap<>();
      engine.addListener(new RoundListener() {
        @Override
        public void roundCompleted(RoundResult r) {
          r.siteMetrics().forEach((site, metrics) -> {
            Double eps = metrics.get("epsilon");
            if (eps != null && Double.isFinite(eps)) { // spent whether or not the update was aggregated
              epsilonSoFar.merge(site, eps, Math::max);
            }
          });
          if (!r.quorumMet()) {
            RoundReport rep = new RoundReport(r.round(), r.modelVersion(), r.aggregated(), r.rejected(),
                Double.NaN, Double.NaN, Double.NaN, r.durationMillis(), epsilonSoFar);
            progress.accept(rep);
            return;
          }
          ModelArtifact m = evaluator.withDeadlineAfter(30, TimeUnit.SECONDS).fetchModel(FetchModelRequest.newBuilder()
              .setStudyId(cfg.studyId()).setVersion(r.modelVersion()).build());
          Parameters.set(evalNet, secure.open(EVALUATOR, m, evalChannel));
          EvaluationMetrics em = Evaluator.evaluate(evalNet, test);
          RoundReport rep = new RoundReport(r.round(), r.modelVersion(), r.aggregated(), r.rejected(),
              em.accuracy(), em.auc(), em.logLoss(), r.durationMillis(), epsilonSoFar);
          synchronized (reports) {
            reports.add(rep);
          }
          progress.accept(rep);
        }
      });

      List<SiteAgent> agents = new ArrayList<>();
      List<Future<List<SiteRoundRecord>>> futures = new ArrayList<>();
      for (int s = 0; s < cfg.sites(); s++) {
        String siteId = siteId(s);
        Dataset local = data.sitePartitions().get(s);
        SiteLedger siteLedger = new SiteLedger("jdbc:sqlite::memory:");
        String datasetId = study.datasetId(s);
        ledgers.add(siteLedger);
        LocalTrainer siteTrainer = study.trainer(study.newNetwork(s), local, study.noise(s), study.sampling(s),
            () -> siteLedger.datasetEvents(datasetId), data.preprocessingEvent());
        LocalTrainer trainer = new BoundedTrainer(siteTrainer, trainingSlots);
        org.cloister.trust.pki.IssuedCertificate party = pki.issue(siteId);
        ManagedChannel ch = channel(server.port(), pki.clientCredentials(party));
        channels.add(ch);
        SiteAgent agent = new SiteAgent(ch, cfg.studyId(), trainer, secure.sealer(siteId, ch), study.signer(s, party), siteLedger,
            new SiteAgent.Options(Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(30)));
        agents.add(agent);
        futures.add(pool.submit(agent));
      }
      long budget = cfg.roundDeadline().toMillis() * cfg.rounds() * 3 + 60_000;
      if (!engine.awaitEnd(Duration.ofMillis(budget))) {
        throw new IllegalStateException("study did not finish within " + budget / 1000 + " s");
      }
      for (Future<List<SiteRoundRecord>> f : futures) {
        f.get(60, TimeUnit.SECONDS);
      }
      List<SiteReport> sites = new ArrayList<>();
      BudgetGuard accountant = SimulatedStudy.accountant(cfg, coordinator.store());
      for (int s = 0; s < cfg.sites(); s++) {
        String id = siteId(s);
        int contributed = (int) engine.history().stream().filter(r -> r.aggregated().contains(id)).count();
        sites.add(new SiteReport(id, data.sitePartitions().get(s).size(), contributed,
            study.epsilon(accountant, id, ledgers.get(s).events(cfg.studyId())), study.reportedDelta()));
      }
      ModelArtifact last = engine.model(0).orElseThrow();
      Parameters.set(evalNet, secure.open(EVALUATOR, last, evalChannel));
      EvaluationMetrics fin = Evaluator.evaluate(evalNet, test);
      String status = engine.status().label() + (engine.statusDetail().isEmpty() ? "" : ": " + engine.statusDetail());
      return new SimulationResult(cfg, reports, fin, sites, status, System.currentTimeMillis() - started,
          study.noiseMultiplier());
    } finally {
      ledgers.forEach(SiteLedger::close);
      coordinator.close();
      pool.shutdownNow();
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
      }
      secure.close();
    }
  }

  /** Sites that may train at the same time: the cores, at most the sites ({@code -Dcloister.simulation.training-slots=N} overrides). */
  static int trainingSlots(int sites) {
    int cores = Integer.getInteger("cloister.simulation.training-slots", Runtime.getRuntime().availableProcessors());
    return Math.max(1, Math.min(sites, cores));
  }

  static String siteId(int index) {
    return SimulatedStudy.siteId(index);
  }

  /** An mTLS loopback channel; the coordinator learns who we are from the client certificate. */
  private static ManagedChannel channel(int port, io.grpc.ChannelCredentials credentials) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port, credentials)
        .maxInboundMessageSize(64 * 1024 * 1024)
        .build();
  }

  /** Per-site map helper for reports. */
  static Map<String, Object> siteMap(SiteReport s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", s.id());
    m.put("examples", s.examples());
    m.put("rounds_contributed", s.roundsContributed());
    m.put("epsilon", Double.isFinite(s.epsilon()) ? s.epsilon() : null);
    m.put("delta", Double.isFinite(s.delta()) ? s.delta() : null);
    return m;
  }
}

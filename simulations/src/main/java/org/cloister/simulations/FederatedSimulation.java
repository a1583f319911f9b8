package org.cloister.simulations;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.net.InetSocketAddress;
import java.time.Clock;
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
import org.cloister.coordinator.service.DevelopmentHeaderIdentityResolver;
import org.cloister.coordinator.strategy.FedAvgStrategy;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.data.Dataset;
import org.cloister.models.EvaluationMetrics;
import org.cloister.models.Evaluator;
import org.cloister.models.ModelArchitecture;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.Headers;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.FetchModelRequest;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.SiteAgent;
import org.cloister.site.agent.SiteRoundRecord;
import org.cloister.site.plain.PlainSgdTrainer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;

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
    int nIn = test.numFeatures();
    int k = test.numClasses();
    ModelArchitecture arch = ModelZoo.byName(cfg.model());

    MultiLayerNetwork initial = ModelZoo.newNetwork(arch, nIn, k, cfg.seed(), new Sgd(cfg.learningRate()), DataType.FLOAT);
    float[] w0 = Parameters.get(initial);
    byte[] payload = FloatCodec.encode(w0);
    ModelArtifact model0 = ModelArtifact.newBuilder()
        .setStudyId(cfg.studyId()).setVersion(1).setModelName(arch.name()).setDimension(w0.length)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(payload))
        .setSha256(ByteString.copyFrom(FloatCodec.sha256(payload))).build();

    TrainingConfig training = TrainingConfig.newBuilder()
        .setLocalEpochs(cfg.localEpochs()).setLocalSteps(cfg.localSteps()).setBatchSize(cfg.batchSize()).setLearningRate(cfg.learningRate())
        .setSeed(cfg.seed()).build();
    StudyConfig study = new StudyConfig(cfg.studyId(), arch.name(), w0.length, cfg.rounds(), cfg.minSitesPerRound(), 0,
        cfg.roundDeadline(), Duration.ofSeconds(60), 3, training, StudyConfig.defaultMaxUpdateBytes(w0.length),
        cfg.sites(), Duration.ofSeconds(5));
    List<String> members = new ArrayList<>();
    for (int s = 0; s < cfg.sites(); s++) {
      members.add(siteId(s));
    }
    members.add(EVALUATOR);
    AggregationStack secure = AggregationStack.forSimulation(cfg, model0, members); // enclave + key broker processes
    RoundEngine engine = new RoundEngine(study, model0, new FedAvgStrategy(), secure.aggregator(), Clock.systemUTC(),
        cfg.seed());

    List<RoundReport> reports = new ArrayList<>();
    MultiLayerNetwork evalNet = ModelZoo.newNetwork(arch, nIn, k, cfg.seed(), null, DataType.FLOAT);
    List<ManagedChannel> channels = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(cfg.sites()); // one agent thread per virtual hospital
    try (CoordinatorServer server = new CoordinatorServer(new InetSocketAddress("127.0.0.1", 0), engine,
        new DevelopmentHeaderIdentityResolver(), (rpc, reason) -> { }, secure::registerServices)) {
      server.start();
      ManagedChannel evalChannel = channel(server.port(), EVALUATOR);
      channels.add(evalChannel);
      FederationGrpc.FederationBlockingStub evaluator = FederationGrpc.newBlockingStub(evalChannel);
      engine.addListener(new RoundListener() {
        @Override
        public void roundCompleted(RoundResult r) {
          if (!r.quorumMet()) {
            RoundReport rep = new RoundReport(r.round(), r.modelVersion(), r.aggregated(), r.rejected(),
                Double.NaN, Double.NaN, Double.NaN, r.durationMillis());
            progress.accept(rep);
            return;
          }
          ModelArtifact m = evaluator.withDeadlineAfter(30, TimeUnit.SECONDS).fetchModel(FetchModelRequest.newBuilder()
              .setStudyId(cfg.studyId()).setVersion(r.modelVersion()).build());
          Parameters.set(evalNet, secure.open(EVALUATOR, m, evalChannel));
          EvaluationMetrics em = Evaluator.evaluate(evalNet, test);
          RoundReport rep = new RoundReport(r.round(), r.modelVersion(), r.aggregated(), r.rejected(),
              em.accuracy(), em.auc(), em.logLoss(), r.durationMillis());
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
        MultiLayerNetwork net = ModelZoo.newNetwork(arch, nIn, k, cfg.seed() + s, new Sgd(cfg.learningRate()), DataType.FLOAT);
        LocalTrainer trainer = new PlainSgdTrainer(net, local);
        ManagedChannel ch = channel(server.port(), siteId);
        channels.add(ch);
        SiteAgent agent = new SiteAgent(ch, cfg.studyId(), trainer, secure.sealer(siteId, ch),
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
      for (int s = 0; s < cfg.sites(); s++) {
        String id = siteId(s);
        int contributed = (int) engine.history().stream().filter(r -> r.aggregated().contains(id)).count();
        sites.add(new SiteReport(id, data.sitePartitions().get(s).size(), contributed));
      }
      ModelArtifact last = engine.model(0).orElseThrow();
      Parameters.set(evalNet, secure.open(EVALUATOR, last, evalChannel));
      EvaluationMetrics fin = Evaluator.evaluate(evalNet, test);
      String status = engine.status().label() + (engine.statusDetail().isEmpty() ? "" : ": " + engine.statusDetail());
      return new SimulationResult(cfg, reports, fin, sites, status, System.currentTimeMillis() - started);
    } finally {
      pool.shutdownNow();
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
      }
      secure.close();
    }
  }

  static String siteId(int index) {
    return "site-" + (index + 1);
  }

  /** A plaintext loopback channel that identifies itself with the development header. */
  private static ManagedChannel channel(int port, String identity) {
    Metadata h = new Metadata();
    h.put(Headers.DEV_SITE_ID, identity);
    return NettyChannelBuilder.forAddress("127.0.0.1", port)
        .usePlaintext()
        .maxInboundMessageSize(64 * 1024 * 1024)
        .intercept(MetadataUtils.newAttachHeadersInterceptor(h))
        .build();
  }

  /** Per-site map helper for reports. */
  static Map<String, Object> siteMap(SiteReport s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", s.id());
    m.put("examples", s.examples());
    m.put("rounds_contributed", s.roundsContributed());
    return m;
  }
}

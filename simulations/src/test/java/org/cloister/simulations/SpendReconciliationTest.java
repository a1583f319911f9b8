package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.coordinator.aggregation.PlaintextFedAvgAggregator;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.service.CertificateIdentityResolver;
import org.cloister.coordinator.service.CoordinatorServer;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.coordinator.strategy.FedAvgStrategy;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.dp.events.DpEvent;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.tls.MutualTls;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.JoinRequest;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.PollTaskRequest;
import org.cloister.protocol.v1.PollTaskResponse;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SignedSpend;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.agent.SiteAgent;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.site.ledger.SiteLedger;
import org.cloister.site.ledger.SpendSigner;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A site trained and recorded its spend, and the coordinator went down before the update reached
 * it. When the site comes back (a restarted coordinator on the same database), it hands the spend
 * over and the coordinator's budget counts it.
 */
class SpendReconciliationTest {
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  private static final String STUDY = "recon";
  private static final TrainingConfig TRAINING = TrainingConfig.newBuilder().setBatchSize(10).setLocalEpochs(1)
      .setDp(DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(1.0).setClipNorm(1.0)).build();
  private final CertificateAuthority ca = CertificateAuthority.createRoot("consortium", EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS),
      NOW.plus(1, ChronoUnit.DAYS), new SecureRandom());
  private final IssuedCertificate serverCert = ca.issueServer("coordinator", List.of("localhost"), List.of("127.0.0.1"),
      NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
  private final IssuedCertificate site = ca.issueClient("site-1", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.HOURS));

  /** A stand-in for DP-SGD that declares one round's event (the spend is what this test is about). */
  private static final class DeclaredSpendTrainer implements LocalTrainer {
    @Override
    public long numExamples() {
      return 100;
    }

    @Override
    public LocalUpdate train(float[] globalWeights, RoundTask task) {
      DpEvent e = BudgetGuard.plannedEvent(TRAINING, 100);
      return new LocalUpdate(new float[] {0.1f, 0.1f}, 100, Map.of(), e, 1.0);
    }
  }

  private CoordinatorServer coordinator(JdbcStudyStore store) throws Exception {
    byte[] p = FloatCodec.encode(new float[2]);
    ModelArtifact m0 = ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setModelName("toy").setDimension(2)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(p)).build();
    StudyConfig cfg = new StudyConfig(STUDY, "toy", 2, 1, 1, 0, Duration.ofSeconds(60), Duration.ofSeconds(60), 3, TRAINING,
        1024, 1, Duration.ZERO, true);
    RoundEngine engine = new RoundEngine(cfg, m0, new FedAvgStrategy(), new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(2)),
        store, new PrivacyBudgets(new PrivacyBudgets.Ceiling(100, 1e-5), Map.of()), Clock.systemUTC(), 1);
    return new CoordinatorServer(new InetSocketAddress("127.0.0.1", 0),
        MutualTls.serverCredentials(serverCert.chain(), serverCert.privateKey(), ca.certificate(), Set.of()),
        engine, new CertificateIdentityResolver(), (rpc, reason) -> { }, b -> { }).start();
  }

  private ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port, MutualTls.channelCredentials(site.chain(), site.privateKey(),
        ca.certificate())).build();
  }

  @Test
  void aSpendLostWithTheCoordinatorIsReconciledWhenTheSiteRejoins(@TempDir Path dir) throws Exception {
    String db = "jdbc:sqlite:" + dir.resolve("coordinator.db");
    SpendSigner signer = new SpendSigner("site-1", site.privateKey(), 1e-5, "ds-site-1");
    String lostRound;
    try (SiteLedger siteLedger = new SiteLedger("jdbc:sqlite:" + dir.resolve("site-ledger.db"))) {
      // first life of the coordinator: round 1 opens; the site trains, signs and records its spend ...
      try (JdbcStudyStore store = new JdbcStudyStore(db); CoordinatorServer first = coordinator(store)) {
        ManagedChannel ch = channel(first.port());
        try {
          var stub = FederationGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
          stub.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(100).build());
          PollTaskResponse r;
          do {
            r = stub.pollTask(PollTaskRequest.newBuilder().setStudyId(STUDY).setWaitMs(1000).build());
          } while (!r.hasTask());
          RoundTask task = r.getTask();
          lostRound = task.getRoundId();
          LocalUpdate u = new DeclaredSpendTrainer().train(new float[2], task);
          SignedSpend spend = signer.sign(task, u);
          siteLedger.record(STUDY, task.getRoundId(), task.getRound(), signer.datasetId(), u.spent(), u.epsilonAfter(),
              spend.getSpend().toByteArray(), spend.getSignature().toByteArray());
        } finally {
          ch.shutdownNow();
        }
      } // ... and the coordinator goes down before the update reaches it
      try (JdbcStudyStore store = new JdbcStudyStore(db)) {
        assertThat(store.ledger(STUDY)).isEmpty();
      }

      // second life: the site agent rejoins, hands over its unconfirmed spend, then trains the re-run round
      try (JdbcStudyStore store = new JdbcStudyStore(db); CoordinatorServer second = coordinator(store)) {
        ManagedChannel ch = channel(second.port());
        try {
          SiteAgent agent = new SiteAgent(ch, STUDY, new DeclaredSpendTrainer(), UpdateSealer.plaintext(), signer, siteLedger,
              new SiteAgent.Options(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(30)));
          agent.call();
        } finally {
          ch.shutdownNow();
        }
        assertThat(second.engine().status().label()).isEqualTo("finished");
        Map<String, StudyStore.SpendStatus> status = store.spendStatuses(STUDY);
        assertThat(status.get("site-1/" + lostRound).status()).isEqualTo("reconciled");
        assertThat(status.values()).extracting(StudyStore.SpendStatus::status).containsExactlyInAnyOrder("reconciled", "aggregated");
        assertThat(second.engine().budgetGuard().spent("site-1")).hasSize(2);
        assertThat(siteLedger.unacknowledged(STUDY)).isEmpty();
      }
    }
  }
}

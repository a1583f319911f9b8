package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.coordinator.aggregation.PlaintextFedAvgAggregator;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.service.CertificateIdentityResolver;
import org.cloister.coordinator.service.CoordinatorServer;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.coordinator.strategy.FedAvgStrategy;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.tls.MutualTls;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.agent.SiteAgent;
import org.cloister.site.agent.SiteRoundRecord;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.site.ledger.SiteLedger;
import org.cloister.site.ledger.SpendSigner;
import org.cloister.site.training.RoundDeclinedException;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bug in a site's trainer stops the site agent with an error naming it (it used to be logged as
 * "not trained" and the site sat every round out); a deliberate refusal (privacy budget) is still a
 * round sat out. Real coordinator over mTLS on loopback, real site agent.
 */
class TrainerFailureTest {
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  private static final String STUDY = "bugs";
  private final CertificateAuthority ca = CertificateAuthority.createRoot("consortium", EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS),
      NOW.plus(1, ChronoUnit.DAYS), new SecureRandom());
  private final IssuedCertificate serverCert = ca.issueServer("coordinator", List.of("localhost"), List.of("127.0.0.1"),
      NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
  private final IssuedCertificate site = ca.issueClient("site-1", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.HOURS));

  private record Trainer(RuntimeException failure) implements LocalTrainer {
    @Override
    public long numExamples() {
      return 10;
    }

    @Override
    public LocalUpdate train(float[] globalWeights, RoundTask task) {
      throw failure;
    }
  }

  private CoordinatorServer coordinator(JdbcStudyStore store) throws Exception {
    ModelArtifact m0 = ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setModelName("toy").setDimension(2)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(FloatCodec.encode(new float[2]))).build();
    StudyConfig cfg = new StudyConfig(STUDY, "toy", 2, 1, 1, 0, Duration.ofMinutes(10), Duration.ofMinutes(10), 3,
        TrainingConfig.newBuilder().setLocalEpochs(1).build(), 1024, 1, Duration.ZERO, false);
    RoundEngine engine = new RoundEngine(cfg, m0, new FedAvgStrategy(), new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(2)),
        store, Clock.systemUTC(), 1);
    return new CoordinatorServer(new InetSocketAddress("127.0.0.1", 0),
        MutualTls.serverCredentials(serverCert.chain(), serverCert.privateKey(), ca.certificate(), Set.of()),
        engine, new CertificateIdentityResolver(), (rpc, reason) -> { }, b -> { }).start();
  }

  private SiteAgent agent(ManagedChannel ch, LocalTrainer trainer, SiteLedger ledger) {
    return new SiteAgent(ch, STUDY, trainer, UpdateSealer.plaintext(), new SpendSigner("site-1", site.privateKey(), 1e-5, "ds"),
        ledger, new SiteAgent.Options(Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofSeconds(30)));
  }

  @Test
  void aTrainerBugStopsTheAgentWithAnError(@TempDir Path dir) throws Exception {
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite::memory:"); CoordinatorServer server = coordinator(store);
         SiteLedger ledger = new SiteLedger("jdbc:sqlite:" + dir.resolve("site.db"))) {
      ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port(),
          MutualTls.channelCredentials(site.chain(), site.privateKey(), ca.certificate())).build();
      try {
        SiteAgent agent = agent(ch, new Trainer(new NullPointerException("feature column 7 is null")), ledger);
        assertThatThrownBy(agent::call).isInstanceOf(SiteAgent.TrainerFailure.class)
            .hasMessageContaining("round 1: the local trainer failed (NullPointerException: feature column 7 is null)");
        assertThat(ledger.unacknowledged(STUDY)).isEmpty(); // nothing was spent or sent
      } finally {
        ch.shutdownNow();
      }
    }
  }

  @Test
  void aDeclinedRoundIsSatOut(@TempDir Path dir) throws Exception {
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite::memory:"); CoordinatorServer server = coordinator(store);
         SiteLedger ledger = new SiteLedger("jdbc:sqlite:" + dir.resolve("site.db"))) {
      ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port(),
          MutualTls.channelCredentials(site.chain(), site.privateKey(), ca.certificate())).build();
      try {
        SiteAgent agent = agent(ch, new Trainer(new RoundDeclinedException("privacy budget: no step fits")), ledger);
        Future<List<SiteRoundRecord>> run = pool.submit(agent);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // safety only
        while (agent.records().isEmpty() && System.nanoTime() < until && !run.isDone()) {
          Thread.onSpinWait();
        }
        agent.stop();
        assertThat(run.get(30, TimeUnit.SECONDS)).first().satisfies(r -> {
          assertThat(r.accepted()).isFalse();
          assertThat(r.detail()).contains("privacy budget: no step fits");
        });
      } finally {
        ch.shutdownNow();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}

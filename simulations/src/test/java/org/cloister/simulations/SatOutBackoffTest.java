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
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
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
import org.cloister.site.sealing.SealingException;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A site that cannot get its round's challenge (the enclave is down) sits the round out, and the
 * coordinator hands it the same task again while the round is open: the site pauses before each new
 * poll, with jittered exponential backoff, instead of polling again at once (it used to: 36k
 * warnings in minutes). Real coordinator over mTLS on loopback, real site agent; the pauses are
 * recorded, not slept, so nothing waits on real time.
 */
class SatOutBackoffTest {
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  private static final String STUDY = "backoff";
  private final CertificateAuthority ca = CertificateAuthority.createRoot("consortium", EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS),
      NOW.plus(1, ChronoUnit.DAYS), new SecureRandom());
  private final IssuedCertificate serverCert = ca.issueServer("coordinator", List.of("localhost"), List.of("127.0.0.1"),
      NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
  private final IssuedCertificate site = ca.issueClient("site-1", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.HOURS));

  /** Test double of an enclave that is down: no round challenge can be had. */
  private static final class UnreachableEnclaveSealer implements UpdateSealer {
    @Override
    public float[] openGlobalModel(RoundTask task, int dimension) {
      throw new SealingException("the round challenge for round " + task.getRound() + " is unavailable: the enclave is down");
    }

    @Override
    public Sealed seal(RoundTask task, float[] delta) {
      throw new AssertionError("nothing to seal without a challenge");
    }
  }

  private static final class NeverTrains implements LocalTrainer {
    @Override
    public long numExamples() {
      return 10;
    }

    @Override
    public LocalUpdate train(float[] globalWeights, RoundTask task) {
      throw new AssertionError("no training without the round's challenge");
    }
  }

  @Test
  void aSiteWithoutItsRoundChallengePausesWithGrowingJitteredBackoffBeforePollingAgain(@TempDir Path dir) throws Exception {
    ModelArtifact m0 = ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setModelName("toy").setDimension(2)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(FloatCodec.encode(new float[2]))).build();
    StudyConfig cfg = new StudyConfig(STUDY, "toy", 2, 1, 1, 0, Duration.ofMinutes(10), Duration.ofMinutes(10), 3,
        TrainingConfig.newBuilder().setLocalEpochs(1).build(), 1024, 1, Duration.ZERO, false);
    List<Long> pauses = new ArrayList<>();
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite::memory:");
         CoordinatorServer server = new CoordinatorServer(new InetSocketAddress("127.0.0.1", 0),
             MutualTls.serverCredentials(serverCert.chain(), serverCert.privateKey(), ca.certificate(), Set.of()),
             new RoundEngine(cfg, m0, new FedAvgStrategy(), new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(2)),
                 store, Clock.systemUTC(), 1), new CertificateIdentityResolver(), (rpc, reason) -> { }, b -> { }).start();
         SiteLedger ledger = new SiteLedger("jdbc:sqlite:" + dir.resolve("site.db"))) {
      ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port(),
          MutualTls.channelCredentials(site.chain(), site.privateKey(), ca.certificate())).build();
      try {
        SiteAgent[] agent = new SiteAgent[1];
        agent[0] = new SiteAgent(ch, STUDY, new NeverTrains(), new UnreachableEnclaveSealer(),
            new SpendSigner("site-1", site.privateKey(), 1e-5, "ds"), ledger,
            new SiteAgent.Options(Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofSeconds(30)),
            millis -> {
              pauses.add(millis);
              if (pauses.size() == 9) {
                agent[0].stop();
              }
            }, new Random(7));
        Future<List<SiteRoundRecord>> run = pool.submit(agent[0]);
        List<SiteRoundRecord> records = run.get(60, TimeUnit.SECONDS); // safety only: the agent stops itself
        // the same round, sat out again and again; one pause after each time
        assertThat(records).hasSize(9).allSatisfy(r -> {
          assertThat(r.accepted()).isFalse();
          assertThat(r.round()).isEqualTo(1);
          assertThat(r.detail()).contains("the enclave is down");
        });
        assertThat(pauses).hasSize(9);
        // equal jitter over an exponential backoff: 200 ms doubling to the sat-out ceiling (2 s, below
        // the coordinator's 5 s linger after a study ends, though the retry ceiling is 10 s)
        long backoff = 200;
        for (long p : pauses) {
          assertThat(p).isBetween(backoff / 2, backoff);
          backoff = Math.min(backoff * 2, SiteAgent.SAT_OUT_MAX_PAUSE_MS);
        }
        assertThat(pauses.get(8)).isBetween(1_000L, 2_000L);
        assertThat(ledger.unacknowledged(STUDY)).isEmpty(); // nothing was spent
      } finally {
        ch.shutdownNow();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}

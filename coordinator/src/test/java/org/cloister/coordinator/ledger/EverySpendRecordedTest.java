package org.cloister.coordinator.ledger;

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
import java.time.ZoneOffset;
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
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.DpEventJson;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.tls.MutualTls;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.JoinRequest;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.protocol.v1.ReconcileSpendsRequest;
import org.cloister.protocol.v1.ReconcileSpendsResponse;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SignedSpend;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.cloister.trust.ledger.SpendSignatures;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every genuinely signed spend the coordinator receives is on its ledger, durably, whatever happens
 * to the update: refused updates (late, wrong version, oversized, a spend that does not fit) count
 * in the budget, and a site hands over spends the coordinator lost.
 */
class EverySpendRecordedTest {
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  private static final String STUDY = "s";
  private final CertificateAuthority ca = CertificateAuthority.createRoot("consortium", EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS),
      NOW.plus(1, ChronoUnit.DAYS), new SecureRandom());
  private final TrainingConfig training = TrainingConfig.newBuilder().setBatchSize(16).setLocalEpochs(1)
      .setDp(DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(1.0).setClipNorm(1.0)).build();
  private final PrivacyBudgets budgets = new PrivacyBudgets(new PrivacyBudgets.Ceiling(100, 1e-5), Map.of());

  /** A clock the test moves by hand: no test waits on a real deadline. */
  private static final class HandClock extends Clock {
    private volatile Instant now = NOW;

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }
  }

  private static ModelArtifact model0() {
    byte[] p = FloatCodec.encode(new float[3]);
    return ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setModelName("toy").setDimension(3)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(p)).build();
  }

  private StudyConfig config(int expectedSites, Duration deadline) {
    return new StudyConfig(STUDY, "toy", 3, 1, 1, 0, deadline, Duration.ofSeconds(60), 1, training, 1024, expectedSites,
        Duration.ofSeconds(60), true);
  }

  private static SignedSpend spend(IssuedCertificate signer, String party, int round, String roundId) {
    byte[] bytes = PrivacySpend.newBuilder().setStudyId(STUDY).setPartyId(party).setRound(round).setRoundId(roundId)
        .setEventJson(DpEventJson.toJson(BudgetGuard.plannedEvent(
            TrainingConfig.newBuilder().setBatchSize(16).setLocalEpochs(1)
                .setDp(DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(1.0).setClipNorm(1.0)).build(), 160)))
        .setEpsilonAfter(1.0).setDelta(1e-5).setTimestampMs(NOW.toEpochMilli()).setDatasetId("ds-" + party).build().toByteArray();
    return SignedSpend.newBuilder().setSpend(ByteString.copyFrom(bytes))
        .setSignature(ByteString.copyFrom(SpendSignatures.sign(bytes, signer.privateKey()))).build();
  }

  private static UpdateEnvelope update(RoundTask t, long baseVersion, int payloadBytes, SignedSpend spend) {
    return UpdateEnvelope.newBuilder().setStudyId(STUDY).setRound(t.getRound()).setRoundId(t.getRoundId())
        .setBaseModelVersion(baseVersion).setNumExamples(160).setPayloadFormat(FloatCodec.DELTA_F32LE)
        .setPayload(ByteString.copyFrom(payloadBytes == 12 ? FloatCodec.encode(new float[] {1f, 0f, 0f}) : new byte[payloadBytes]))
        .setSpend(spend).build();
  }

  @Test
  void refusedUpdatesSpendsAreOnTheLedgerDurablyAndCountInTheBudget(@TempDir Path dir) throws Exception {
    String url = "jdbc:sqlite:" + dir.resolve("coordinator.db");
    HandClock clock = new HandClock();
    List<String> sites = List.of("A", "B", "C", "D", "E");
    Map<String, IssuedCertificate> certs = new java.util.TreeMap<>();
    for (String s : sites) {
      certs.put(s, ca.issueClient(s, NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.HOURS)));
    }
    try (JdbcStudyStore store = new JdbcStudyStore(url)) {
      RoundEngine engine = new RoundEngine(config(sites.size(), Duration.ofSeconds(30)), model0(), new FedAvgStrategy(),
          new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(3)), store, budgets, clock, 1);
      sites.forEach(s -> engine.join(s, 160));
      Thread loop = new Thread(engine, "engine");
      loop.setDaemon(true);
      loop.start();
      RoundTask t = ((RoundEngine.Poll.Task) engine.pollTask("A", 30_000)).task();
      engine.submit("A", certs.get("A").certificate(), update(t, 1, 12, spend(certs.get("A"), "A", 1, t.getRoundId())));

      // durable before the answer: a second connection (a coordinator restarted now) already sees A's spend
      try (JdbcStudyStore other = new JdbcStudyStore(url)) {
        assertThat(other.ledger(STUDY)).extracting(StudyStore.LedgerEntry::partyId).containsExactly("A");
        assertThat(other.spendStatuses(STUDY).get("A/" + t.getRoundId()).status()).isEqualTo("received");
      }

      assertThatThrownBy(() -> engine.submit("C", certs.get("C").certificate(), update(t, 7, 12, spend(certs.get("C"), "C", 1, t.getRoundId()))))
          .hasMessageContaining("model version 7");
      assertThatThrownBy(() -> engine.submit("D", certs.get("D").certificate(), update(t, 1, 4000, spend(certs.get("D"), "D", 1, t.getRoundId()))))
          .hasMessageContaining("exceeds the limit");
      // E's spend is genuine but names another round than its update: still a real release
      assertThatThrownBy(() -> engine.submit("E", certs.get("E").certificate(), update(t, 1, 12, spend(certs.get("E"), "E", 1, "other-round"))))
          .hasMessageContaining("privacy spend names round");
      // a spend signed by someone else for B is no spend of B's: refused and not recorded
      assertThatThrownBy(() -> engine.submit("B", certs.get("B").certificate(), update(t, 1, 12, spend(certs.get("C"), "B", 1, t.getRoundId()))))
          .hasMessageContaining("signature does not verify");
      synchronized (engine) { // the engine cannot close the round between the clock moving and B's submission
        clock.advance(Duration.ofSeconds(31));
        assertThatThrownBy(() -> engine.submit("B", certs.get("B").certificate(), update(t, 1, 12, spend(certs.get("B"), "B", 1, t.getRoundId()))))
            .hasMessageContaining("deadline has passed");
        // the engine waits in real time for the deadline it read from the hand clock before it moved: wake it,
        // or it sleeps the whole 30 s of real time (and a 30 s cap below made this test a race under load)
        engine.notifyAll();
      }
      // a cap, not a deadline: the engine ends as soon as it sees the hand clock past the deadline
      assertThat(engine.awaitEnd(Duration.ofMinutes(5))).isTrue();

      Map<String, StudyStore.SpendStatus> status = store.spendStatuses(STUDY);
      assertThat(status.get("A/" + t.getRoundId()).status()).isEqualTo("aggregated");
      assertThat(status.get("B/" + t.getRoundId())).satisfies(s -> {
        assertThat(s.status()).isEqualTo("rejected");
        assertThat(s.reason()).startsWith("late");
      });
      assertThat(status.get("C/" + t.getRoundId()).reason()).startsWith("wrong_model_version");
      assertThat(status.get("D/" + t.getRoundId()).reason()).startsWith("oversized");
      assertThat(status.get("E/other-round").reason()).startsWith("bad_spend");
      BudgetGuard guard = engine.budgetGuard();
      double oneRound = new RdpAccountant().compose(BudgetGuard.plannedEvent(training, 160), 1).epsilon(1e-5);
      for (String s : sites) {
        assertThat(guard.spent(s)).as(s).hasSize(1);
        assertThat(guard.epsilon(s, guard.spent(s))).as(s).isEqualTo(oneRound);
      }
      assertThat(store.ledger(STUDY)).hasSize(5);
    }
  }

  @Test
  void aSpendTheCoordinatorNeverGotIsReconciledOverMutualTls(@TempDir Path dir) throws Exception {
    IssuedCertificate serverCert = ca.issueServer("coordinator", List.of("localhost"), List.of("127.0.0.1"),
        NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    IssuedCertificate a = ca.issueClient("A", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.HOURS));
    IssuedCertificate b = ca.issueClient("B", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.HOURS));
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite:" + dir.resolve("coordinator.db"))) {
      RoundEngine engine = new RoundEngine(config(3, Duration.ofSeconds(600)), model0(), new FedAvgStrategy(),
          new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(3)), store, budgets, Clock.systemUTC(), 1);
      try (CoordinatorServer server = new CoordinatorServer(new InetSocketAddress("127.0.0.1", 0),
          MutualTls.serverCredentials(serverCert.chain(), serverCert.privateKey(), ca.certificate(), Set.of()),
          engine, new CertificateIdentityResolver(), (rpc, reason) -> { }, x -> { }).start()) {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port(),
            MutualTls.channelCredentials(a.chain(), a.privateKey(), ca.certificate())).build();
        try {
          var stub = FederationGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
          stub.join(JoinRequest.newBuilder().setStudyId(STUDY).setNumExamples(160).build());
          ReconcileSpendsRequest req = ReconcileSpendsRequest.newBuilder().setStudyId(STUDY)
              .addSpends(spend(a, "A", 1, "lost-in-crash"))
              .addSpends(spend(b, "A", 2, "forged-by-b"))
              .build();
          ReconcileSpendsResponse r = stub.reconcileSpends(req);
          assertThat(r.getRecordedRoundIdsList()).containsExactly("lost-in-crash");
          assertThat(r.getRefusedList()).singleElement().asString().startsWith("forged-by-b:").contains("signature does not verify");
          assertThat(store.spendStatuses(STUDY).get("A/lost-in-crash").status()).isEqualTo("reconciled");
          assertThat(engine.budgetGuard().spent("A")).hasSize(1);
          // handing it over again changes nothing
          assertThat(stub.reconcileSpends(req).getRecordedRoundIdsList()).containsExactly("lost-in-crash");
          assertThat(store.ledger(STUDY)).hasSize(1);
        } finally {
          ch.shutdownNow();
        }
      }
    }
  }

  @Test
  void aSpendReceivedBeforeACrashStaysOnTheLedgerAndCountsAfterTheRestart(@TempDir Path dir) throws Exception {
    String url = "jdbc:sqlite:" + dir.resolve("coordinator.db");
    IssuedCertificate a = ca.issueClient("A", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.HOURS));
    HandClock clock = new HandClock();
    String roundId;
    JdbcStudyStore first = new JdbcStudyStore(url);
    RoundEngine engine = new RoundEngine(config(2, Duration.ofSeconds(30)), model0(), new FedAvgStrategy(),
        new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(3)), first, budgets, clock, 1);
    engine.join("A", 160);
    engine.join("B", 160);
    Thread loop = new Thread(engine, "engine");
    loop.setDaemon(true);
    loop.start();
    RoundTask t = ((RoundEngine.Poll.Task) engine.pollTask("A", 30_000)).task();
    roundId = t.getRoundId();
    engine.submit("A", a.certificate(), update(t, 1, 12, spend(a, "A", 1, roundId)));
    // the coordinator dies before the round commits: its database connection goes away mid-round
    first.close();
    try (JdbcStudyStore store = new JdbcStudyStore(url)) {
      RoundEngine restarted = new RoundEngine(config(2, Duration.ofSeconds(30)), model0(), new FedAvgStrategy(),
          new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(3)), store, budgets, clock, 1);
      assertThat(store.rounds(STUDY)).isEmpty();
      assertThat(restarted.budgetGuard().spent("A")).hasSize(1);
      StudyStore.SpendStatus s = store.spendStatuses(STUDY).get("A/" + roundId);
      assertThat(s.status()).isEqualTo("rejected");
      assertThat(s.reason()).contains("round never committed");
    }
    engine.stop();
  }
}

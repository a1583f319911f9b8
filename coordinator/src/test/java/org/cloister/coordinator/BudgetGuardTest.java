package org.cloister.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.ledger.LedgerRecord;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.DpEventJson;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.trust.ledger.SpendSignatures;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.junit.jupiter.api.Test;

class BudgetGuardTest {
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  private final CertificateAuthority ca = CertificateAuthority.createRoot("c", EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS),
      NOW.plus(1, ChronoUnit.DAYS), new SecureRandom());
  private final IssuedCertificate site = ca.issueClient("site-1", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.HOURS));
  // q = 16/160 = 0.1, 2 epochs -> 20 steps per round, sigma 1.0
  private final TrainingConfig cfg = TrainingConfig.newBuilder().setBatchSize(16).setLocalEpochs(2)
      .setDp(DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(1.0).setClipNorm(1.0)).build();

  private LedgerRecord spend(int round, DpEvent event) throws Exception {
    return spend("s", "ds-1", "r" + round, round, event);
  }

  private LedgerRecord spend(String study, String dataset, String roundId, int round, DpEvent event) throws Exception {
    byte[] bytes = PrivacySpend.newBuilder().setStudyId(study).setDatasetId(dataset).setPartyId("site-1").setRound(round).setRoundId(roundId)
        .setEventJson(DpEventJson.toJson(event)).setEpsilonAfter(0).setDelta(1e-5).setTimestampMs(NOW.toEpochMilli()).build().toByteArray();
    return new LedgerRecord("site-1", bytes, SpendSignatures.sign(bytes, site.privateKey()), site.certificate().getEncoded(),
        PrivacySpend.parseFrom(bytes));
  }

  /** An accountant that counts the events it is asked to compose (calls, not repetitions). */
  private static final class CountingAccountant implements org.cloister.dp.accounting.PrivacyAccountant {
    static final java.util.concurrent.atomic.AtomicLong CALLS = new java.util.concurrent.atomic.AtomicLong();
    private final RdpAccountant inner;

    CountingAccountant() {
      this(new RdpAccountant());
    }

    private CountingAccountant(RdpAccountant inner) {
      this.inner = inner;
    }

    @Override
    public boolean supports(DpEvent event) {
      return inner.supports(event);
    }

    @Override
    public org.cloister.dp.accounting.PrivacyAccountant compose(DpEvent event, long count) {
      CALLS.incrementAndGet();
      inner.compose(event, count);
      return this;
    }

    @Override
    public double epsilon(double delta) {
      return inner.epsilon(delta);
    }

    @Override
    public double delta(double epsilon) {
      return inner.delta(epsilon);
    }

    @Override
    public org.cloister.dp.accounting.PrivacyAccountant copy() {
      return new CountingAccountant((RdpAccountant) inner.copy());
    }
  }

  /**
   * Found by the coordinator's request fuzzer: a site joining a study of 10^6 rounds with a large
   * ceiling held the engine's lock for minutes, since the rounds that fit were counted by composing
   * 1, 2, ..., k rounds afresh (quadratic). The count is the same as that brute force, from a
   * bounded number of compositions.
   */
  @Test
  void roundsThatFitIsTheBruteForceCountFromABoundedNumberOfCompositions() throws Exception {
    DpEvent perRound = BudgetGuard.plannedEvent(cfg, 160);
    byte[] p = FloatCodec.encode(new float[1]);
    ModelArtifact m = ModelArtifact.newBuilder().setStudyId("s").setVersion(1).setDimension(1).setPayload(ByteString.copyFrom(p)).build();
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite::memory:")) {
      store.openStudy("s", "fp", m);
      store.commitRound("s", new RoundResult(1, "r1", 1, List.of("site-1"), List.of("site-1"), Map.of(),
          2, true, Map.of(), 1, Map.of()), null, List.of(spend(1, perRound)));
      for (double ceiling : new double[] {0.5, 3.0, 5.0, 12.0}) {
        BudgetGuard guard = new BudgetGuard(new PrivacyBudgets(new PrivacyBudgets.Ceiling(ceiling, 1e-5), Map.of()), store, "s",
            CountingAccountant::new);
        for (int upTo : new int[] {0, 1, 7, 150}) {
          int expected = 0; // independent: the spent round plus k planned ones, composed afresh for each k
          while (expected < upTo && new RdpAccountant().compose(perRound, expected + 2).epsilon(1e-5) <= ceiling) {
            expected++;
          }
          assertThat(guard.roundsThatFit("site-1", 160, cfg, upTo)).as("ceiling " + ceiling + ", up to " + upTo)
              .isEqualTo(expected);
        }
      }
      BudgetGuard generous = new BudgetGuard(new PrivacyBudgets(new PrivacyBudgets.Ceiling(1e9, 1e-5), Map.of()), store, "s",
          CountingAccountant::new);
      CountingAccountant.CALLS.set(0);
      assertThat(generous.roundsThatFit("site-1", 160, cfg, 2_000)).isEqualTo(2_000);
      assertThat(CountingAccountant.CALLS.get()).as("compositions for 2,000 rounds").isLessThanOrEqualTo(100);
      assertThat(generous.roundsThatFit("site-1", 160, cfg, 1_000_000)).isEqualTo(1_000_000);
    }
  }

  @Test
  void refusesExactlyTheRoundThatWouldExceedTheCeiling() throws Exception {
    DpEvent perRound = BudgetGuard.plannedEvent(cfg, 160);
    // independent expectation: the first k whose cumulative epsilon exceeds 2.0
    double ceiling = 5.0;
    int firstOver = 0;
    for (int k = 1; k < 200; k++) {
      if (new RdpAccountant().compose(perRound, k).epsilon(1e-5) > ceiling) {
        firstOver = k;
        break;
      }
    }
    assertThat(firstOver).isGreaterThan(1);
    byte[] p = FloatCodec.encode(new float[1]);
    ModelArtifact m = ModelArtifact.newBuilder().setStudyId("s").setVersion(1).setDimension(1).setPayload(ByteString.copyFrom(p)).build();
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite::memory:")) {
      store.openStudy("s", "fp", m);
      BudgetGuard guard = new BudgetGuard(new PrivacyBudgets(new PrivacyBudgets.Ceiling(ceiling, 1e-5), Map.of()), store, "s",
          RdpAccountant::new);
      for (int round = 1; round < firstOver; round++) {
        assertThat(guard.refusal("site-1", 160, cfg)).as("round " + round).isEmpty();
        store.commitRound("s", new RoundResult(round, "r" + round, 1, List.of("site-1"), List.of("site-1"), Map.of(),
            round + 1, true, Map.of(), 1, Map.of()), null, List.of(spend(round, perRound)));
      }
      assertThat(guard.refusal("site-1", 160, cfg)).get().asString()
          .contains("budget: projected epsilon").contains("would exceed the ceiling 5.000");
      assertThat(guard.spent("site-1")).hasSize(firstOver - 1);
    }
  }

  @Test
  void spendsOnTheSameDatasetInAnotherStudyOfTheDatabaseCount() throws Exception {
    DpEvent perRound = BudgetGuard.plannedEvent(cfg, 160);
    byte[] p = FloatCodec.encode(new float[1]);
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite::memory:")) {
      for (String study : List.of("first", "second")) {
        store.openStudy(study, "fp", ModelArtifact.newBuilder().setStudyId(study).setVersion(1).setDimension(1)
            .setPayload(ByteString.copyFrom(p)).build());
      }
      // the first study: three rounds on ds-1, one on another dataset of the same site
      for (int r = 1; r <= 3; r++) {
        store.recordSpend("first", spend("first", "ds-1", "f" + r, r, perRound), "aggregated", "");
      }
      store.recordSpend("first", spend("first", "ds-2", "f9", 9, perRound), "aggregated", "");
      BudgetGuard guard = new BudgetGuard(new PrivacyBudgets(new PrivacyBudgets.Ceiling(100, 1e-5), Map.of()), store, "second",
          RdpAccountant::new);
      assertThat(guard.spent("site-1")).isEmpty(); // no spend in this study yet: its dataset is not known here
      store.recordSpend("second", spend("second", "ds-1", "s1", 1, perRound), "aggregated", "");
      assertThat(guard.spent("site-1")).hasSize(4);
      assertThat(guard.epsilon("site-1", guard.spent("site-1")))
          .isEqualTo(new RdpAccountant().compose(perRound, 4).epsilon(1e-5));
    }
  }

  @Test
  void nonPrivateTrainingNeverFitsABudget() {
    TrainingConfig plain = cfg.toBuilder().setDp(DpConfig.getDefaultInstance()).build();
    byte[] p = FloatCodec.encode(new float[1]);
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite::memory:")) {
      store.openStudy("s", "fp", ModelArtifact.newBuilder().setStudyId("s").setVersion(1).setDimension(1).setPayload(ByteString.copyFrom(p)).build());
      BudgetGuard guard = new BudgetGuard(new PrivacyBudgets(new PrivacyBudgets.Ceiling(100, 1e-5), Map.of()), store, "s",
          RdpAccountant::new);
      assertThat(guard.refusal("site-9", 10, plain)).get().asString().contains("Infinity");
    }
  }

  @Test
  void theStartUpCheckSaysWhichSiteFitsHowManyRoundsAndRefusesARoundWithoutQuorum() throws Exception {
    // a spend per round fixed before any site joins: sampling rate and step count given
    TrainingConfig fixed = TrainingConfig.newBuilder().setBatchSize(16).setLocalSteps(20)
        .setDp(DpConfig.newBuilder().setEnabled(true).setNoiseMultiplier(1.0).setClipNorm(1.0).setSamplingRate(0.1)).build();
    assertThat(BudgetGuard.spendIndependentOfSiteSize(fixed)).isTrue();
    assertThat(BudgetGuard.spendIndependentOfSiteSize(cfg)).isFalse();
    DpEvent perRound = BudgetGuard.plannedEvent(fixed, 1);
    // independent expectation: site-1's ceiling sits between 2 and 3 rounds' epsilon
    double two = new RdpAccountant().compose(perRound, 2).epsilon(1e-5);
    double three = new RdpAccountant().compose(perRound, 3).epsilon(1e-5);
    double ceiling = (two + three) / 2;
    byte[] p = FloatCodec.encode(new float[1]);
    ModelArtifact m = ModelArtifact.newBuilder().setStudyId("s").setVersion(1).setDimension(1).setPayload(ByteString.copyFrom(p)).build();
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite::memory:")) {
      store.openStudy("s", "fp", m);
      BudgetGuard guard = new BudgetGuard(new PrivacyBudgets(new PrivacyBudgets.Ceiling(50, 1e-5),
          Map.of("site-1", new PrivacyBudgets.Ceiling(ceiling, 1e-5))), store, "s", RdpAccountant::new);
      Map<String, Long> sites = new java.util.TreeMap<>(Map.of("site-1", 1L, "site-2", 1L));
      BudgetGuard.Plan quorumOne = guard.plan(sites, 0, fixed, 4, 1, 0);
      assertThat(quorumOne.fits()).containsEntry("site-1", 2).containsEntry("site-2", 4);
      assertThat(quorumOne.refusal()).isNull();
      assertThat(quorumOne.lines()).singleElement().asString().contains("site site-1").contains("fits 2 of the 4 remaining");
      BudgetGuard.Plan quorumTwo = guard.plan(sites, 0, fixed, 4, 2, 0);
      assertThat(quorumTwo.refusal()).contains("round 3 would have only 1 site(s) within budget, quorum is 2")
          .contains("site site-1").contains("at most 2");
      // sites not known yet count as fitting: no refusal on a guess
      assertThat(guard.plan(Map.of("site-1", 1L), 2, fixed, 4, 2, 0).refusal()).isNull();
      assertThat(guard.plan(Map.of("site-1", 1L), 1, fixed, 4, 2, 0).refusal()).contains("round 3");
      // the paused study restarted after site-1 spent its two rounds: its ceiling fits none of the rest
      for (int round = 1; round <= 2; round++) {
        store.commitRound("s", new RoundResult(round, "r" + round, 1, List.of("site-1"), List.of("site-1"), Map.of(),
            round + 1, true, Map.of(), 1, Map.of()), null, List.of(spend(round, perRound)));
      }
      BudgetGuard.Plan restarted = guard.plan(sites, 0, fixed, 2, 2, 2);
      assertThat(restarted.fits()).containsEntry("site-1", 0);
      assertThat(restarted.refusal()).contains("round 3 would have only 1 site(s)").contains("fits 0 of the 2 remaining");
    }
  }
}

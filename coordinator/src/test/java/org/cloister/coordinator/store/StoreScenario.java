package org.cloister.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.cloister.coordinator.ledger.CheckpointSigner;
import org.cloister.coordinator.ledger.LedgerRecord;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.LedgerCheckpoint;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.trust.ledger.LedgerChain;
import org.cloister.trust.ledger.SpendSignatures;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;

/**
 * A study's life in a {@link StudyStore}, the same for every backend: two sites, a received spend,
 * an aggregated round with a receipt and a rejected update, a round without quorum, an in-flight
 * spend closed after a "crash", a status. Real signed spends and real signed checkpoints.
 */
final class StoreScenario {
  static final String STUDY = "study-1";
  static final Instant NOW = Instant.parse("2026-12-01T00:00:00Z");

  final CertificateAuthority ca = CertificateAuthority.createRoot("consortium", EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS),
      NOW.plus(3650, ChronoUnit.DAYS), new SecureRandom());
  final IssuedCertificate siteA = ca.issueClient("A", NOW.minusSeconds(60), NOW.plus(3650, ChronoUnit.DAYS));
  final IssuedCertificate siteB = ca.issueClient("B", NOW.minusSeconds(60), NOW.plus(3650, ChronoUnit.DAYS));
  final IssuedCertificate coordinator = ca.issueSigning("coordinator", NOW.minusSeconds(60), NOW.plus(3650, ChronoUnit.DAYS));

  CheckpointSigner checkpointSigner() {
    return new CheckpointSigner(coordinator.privateKey(), coordinator.certificate());
  }

  static ModelArtifact model(long version, float... w) {
    return ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(version).setDimension(w.length)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(FloatCodec.encode(w))).build();
  }

  static LedgerRecord spend(IssuedCertificate signer, String party, int round, String roundId, double epsilonAfter) {
    PrivacySpend s = PrivacySpend.newBuilder().setStudyId(STUDY).setPartyId(party).setRound(round).setRoundId(roundId)
        .setEventJson("{}").setEpsilonAfter(epsilonAfter).setDelta(1e-5).setTimestampMs(NOW.toEpochMilli())
        .setDatasetId("ds-" + party).build();
    byte[] bytes = s.toByteArray();
    try {
      return new LedgerRecord(party, bytes, SpendSignatures.sign(bytes, signer.privateKey()), signer.certificate().getEncoded(), s);
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  static final RoundResult ROUND_1 = new RoundResult(1, "rid-1", 1, List.of("A", "B"), List.of("A"),
      Map.of("B", "not_finite: update has NaN"), 2, true, Map.of("A", Map.of("epsilon", 0.5)), 10, Map.of());
  static final RoundResult ROUND_2 = new RoundResult(2, "rid-2", 1, List.of("A", "B"), List.of(), Map.of(), 2, false,
      Map.of(), 12, Map.of());

  /**
   * Checks a store holding the scenario, as a restarted coordinator and {@code ledger verify} see
   * it: every round, model, site, status and receipt; the ledger a hash chain from genesis whose
   * every spend verifies under a certificate issued by {@code ca}; both checkpoints signed and
   * naming the ledger head of their time.
   */
  static void verify(StudyStore store, X509Certificate ca) throws Exception {
    StudyStore.StudyState st = store.openStudy(STUDY, "fingerprint-1", model(1, 0f, 0f));
    assertThat(st.rounds()).containsExactly(ROUND_1, ROUND_2);
    assertThat(st.latestModel()).isEqualTo(model(2, 1f, 2f));
    assertThat(store.model(STUDY, 1)).contains(model(1, 0f, 0f));
    assertThat(st.sites()).isEqualTo(Map.of("A", 100L, "B", 60L));
    assertThat(st.status()).isEqualTo("paused");
    assertThat(st.statusDetail()).isEqualTo("quorum not met in round 2");
    assertThat(store.studies()).containsExactly(STUDY);
    assertThat(store.rounds(STUDY)).containsExactly(ROUND_1, ROUND_2);

    List<StudyStore.LedgerEntry> ledger = store.ledger(STUDY);
    assertThat(ledger).extracting(StudyStore.LedgerEntry::partyId).containsExactly("A", "B", "A", "B", "A");
    assertThat(ledger).extracting(StudyStore.LedgerEntry::roundId).containsExactly("rid-1", "rid-1", "rid-2", "rid-2", "rid-3");
    byte[] prev = LedgerChain.GENESIS;
    long seq = 1;
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    for (StudyStore.LedgerEntry e : ledger) {
      assertThat(e.seq()).isEqualTo(seq++);
      assertThat(e.previousHash()).isEqualTo(prev);
      assertThat(e.hash()).isEqualTo(LedgerChain.link(prev, e.spend(), e.signature()));
      X509Certificate signer = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(e.signerCertificate()));
      signer.verify(ca.getPublicKey());
      assertThat(SpendSignatures.verify(e.spend(), e.signature(), signer)).as("signature of entry %d", e.seq()).isTrue();
      assertThat(PrivacySpend.parseFrom(e.spend()).getRoundId()).isEqualTo(e.roundId());
      prev = e.hash();
    }

    assertThat(store.receipts(STUDY)).singleElement().satisfies(r -> {
      assertThat(r.round()).isEqualTo(1);
      assertThat(r.modelVersion()).isEqualTo(2);
      assertThat(r.signedReceipt()).containsExactly(1, 2, 3, 4);
    });

    Map<String, StudyStore.SpendStatus> statuses = store.spendStatuses(STUDY);
    assertThat(statuses.get("A/rid-1").status()).isEqualTo("aggregated");
    assertThat(statuses.get("B/rid-1").status()).isEqualTo("rejected");
    assertThat(statuses.get("B/rid-1").reason()).isEqualTo("not_finite: update has NaN");
    assertThat(statuses.get("A/rid-2").reason()).isEqualTo("round 2 without quorum");
    assertThat(statuses.get("A/rid-3").status()).isEqualTo("rejected");
    assertThat(statuses.get("A/rid-3").reason()).isEqualTo("coordinator restarted during round 3");
  }

  /** The signed checkpoints: one per committed round, each naming the ledger head after that round. */
  static void verifyCheckpoints(StudyStore store, X509Certificate ca) throws Exception {
    List<StudyStore.LedgerEntry> ledger = store.ledger(STUDY);
    List<StudyStore.Checkpoint> cps = store.checkpoints(STUDY);
    assertThat(cps).extracting(StudyStore.Checkpoint::rounds).containsExactly(1, 2);
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    int[] entriesAfter = {2, 4};
    for (int i = 0; i < 2; i++) {
      StudyStore.Checkpoint cp = cps.get(i);
      X509Certificate signer = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(cp.signerCertificate()));
      signer.verify(ca.getPublicKey());
      assertThat(SpendSignatures.verify(cp.checkpoint(), cp.signature(), signer)).isTrue();
      LedgerCheckpoint c = LedgerCheckpoint.parseFrom(cp.checkpoint());
      assertThat(c.getEntries()).isEqualTo(entriesAfter[i]);
      assertThat(c.getHeadHash().toByteArray()).isEqualTo(ledger.get(entriesAfter[i] - 1).hash());
    }
  }

  /** Writes the scenario; the store is left with 2 rounds, 5 ledger entries, 1 receipt, 2 checkpoints (with a signer). */
  void populate(StudyStore store) {
    store.openStudy(STUDY, "fingerprint-1", model(1, 0f, 0f));
    store.saveSite(STUDY, "A", 100);
    store.saveSite(STUDY, "B", 50);
    store.saveSite(STUDY, "B", 60);
    store.saveStatus(STUDY, "running", "round 1");
    LedgerRecord a1 = spend(siteA, "A", 1, "rid-1", 0.5);
    LedgerRecord b1 = spend(siteB, "B", 1, "rid-1", 0.5);
    store.recordSpend(STUDY, a1, "received", "");
    store.commitRound(STUDY, ROUND_1, model(2, 1f, 2f), List.of(a1, b1), new byte[] {1, 2, 3, 4});
    LedgerRecord a2 = spend(siteA, "A", 2, "rid-2", 0.9);
    LedgerRecord b2 = spend(siteB, "B", 2, "rid-2", 0.9);
    store.commitRound(STUDY, ROUND_2, null, List.of(a2, b2));
    // a spend received for round 3, whose round never commits (the coordinator stopped)
    store.recordSpend(STUDY, spend(siteA, "A", 3, "rid-3", 1.2), "received", "");
    store.closeInFlightSpends(STUDY, "coordinator restarted during round 3");
    store.saveStatus(STUDY, "paused", "quorum not met in round 2");
  }
}

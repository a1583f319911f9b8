package org.cloister.coordinator.ledger;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.coordinator.store.StudyStore.LedgerEntry;
import org.cloister.protocol.v1.LedgerCheckpoint;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.trust.ledger.LedgerChain;
import org.cloister.trust.ledger.SpendSignatures;

/**
 * Checks a study's privacy ledger the way a privacy officer would: every entry signed by a
 * consortium certificate whose common name is the party it names, every hash linking to the one
 * before, no (party, round) twice. Any edited, inserted, reordered or removed row is reported.
 *
 * <p>A hash chain alone does not reveal entries removed from its end, so {@link #verify(StudyStore, String)}
 * also checks the chain against what else the coordinator recorded: every update a committed round
 * received has its spend in the ledger, every spend status has its entry, and every committed round
 * has a checkpoint of the ledger head signed by a consortium certificate, whose entry must still
 * be in the chain with the same hash.
 */
public final class LedgerVerifier {

  /** The verdict: problems by sequence number, and the head hash to compare with a published anchor. */
  public record Report(int entries, String headHash, List<String> problems) {
    public Report {
      problems = List.copyOf(problems);
    }

    public boolean valid() {
      return problems.isEmpty();
    }
  }

  private final X509Certificate trustRoot;

  public LedgerVerifier(X509Certificate trustRoot) {
    this.trustRoot = trustRoot;
  }

  /** The chain, checked against the study's rounds, spend statuses and signed checkpoints in {@code store}. */
  public Report verify(StudyStore store, String studyId) {
    List<LedgerEntry> entries = store.ledger(studyId);
    Report chain = verify(entries);
    List<String> problems = new ArrayList<>(chain.problems());
    Set<String> present = new HashSet<>();
    for (LedgerEntry e : entries) {
      present.add(e.partyId() + "/" + e.roundId());
    }
    List<RoundResult> rounds = store.rounds(studyId);
    for (RoundResult r : rounds) {
      Set<String> submitted = new java.util.TreeSet<>(r.siteMetrics().keySet());
      submitted.addAll(r.aggregated());
      for (String site : submitted) {
        if (!present.contains(site + "/" + r.roundId())) {
          problems.add("round " + r.round() + " (" + r.roundId() + "): the coordinator received an update from " + site
              + " but its spend is not in the ledger (entry removed)");
        }
      }
    }
    for (StudyStore.SpendStatus st : store.spendStatuses(studyId).values()) {
      if (!present.contains(st.partyId() + "/" + st.roundId())) {
        problems.add("the spend of " + st.partyId() + " for round id " + st.roundId() + " was recorded (" + st.status()
            + ") but is not in the ledger (entry removed)");
      }
    }
    checkpoints(studyId, entries, rounds.size(), store.checkpoints(studyId), problems);
    return new Report(entries.size(), chain.headHash(), problems);
  }

  private void checkpoints(String studyId, List<LedgerEntry> entries, int rounds, List<StudyStore.Checkpoint> checkpoints,
                           List<String> problems) {
    Set<Integer> covered = new HashSet<>();
    Set<Integer> present = new HashSet<>();
    for (StudyStore.Checkpoint c : checkpoints) {
      present.add(c.rounds());
      String at = "checkpoint after round record " + c.rounds() + ": ";
      LedgerCheckpoint cp;
      X509Certificate cert;
      try {
        cp = LedgerCheckpoint.parseFrom(c.checkpoint());
        cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(c.signerCertificate()));
      } catch (InvalidProtocolBufferException | CertificateException ex) {
        problems.add(at + "unreadable");
        continue;
      }
      String why = SpendSignatures.check(c.checkpoint(), c.signature(), cert, trustRoot, Instant.ofEpochMilli(cp.getTimestampMs()));
      if (why != null) {
        problems.add(at + why + " (checkpoint forged or edited)");
        continue;
      }
      if (!cp.getStudyId().equals(studyId) || cp.getRounds() != c.rounds()) {
        problems.add(at + "signed for study " + cp.getStudyId() + " after " + cp.getRounds() + " rounds (moved)");
        continue;
      }
      covered.add(c.rounds());
      long n = cp.getEntries();
      if (n > entries.size()) {
        problems.add(at + "the ledger had " + n + " entries, signed, but only " + entries.size()
            + " remain (ledger truncated)");
      } else if (n > 0 && !Arrays.equals(entries.get((int) n - 1).hash(), cp.getHeadHash().toByteArray())) {
        problems.add(at + "entry " + n + " no longer has the signed head hash (ledger rewritten)");
      } else if (n == 0 && !Arrays.equals(LedgerChain.GENESIS, cp.getHeadHash().toByteArray())) {
        problems.add(at + "signed an empty ledger with a non-genesis head");
      }
    }
    for (int r = 1; r <= rounds; r++) {
      if (!covered.contains(r)) {
        problems.add("round record " + r + " has no valid signed checkpoint of the ledger head"
            + (checkpoints.isEmpty() ? " (no checkpoints at all: truncation cannot be ruled out)"
            : present.contains(r) ? " (its checkpoint does not verify: see above)" : " (checkpoint removed)"));
      }
    }
    int maxCheckpoint = covered.stream().mapToInt(Integer::intValue).max().orElse(0);
    if (maxCheckpoint > rounds) {
      problems.add("a signed checkpoint covers " + maxCheckpoint + " round records but only " + rounds + " remain (rounds removed)");
    }
  }

  /** The hash chain and signatures of {@code entries} alone (entries removed from the end go unnoticed). */
  public Report verify(List<LedgerEntry> entries) {
    List<String> problems = new ArrayList<>();
    byte[] prev = LedgerChain.GENESIS;
    Set<String> seen = new HashSet<>();
    long expectedSeq = 1;
    for (LedgerEntry e : entries) {
      String at = "entry " + e.seq() + " (" + e.partyId() + ", round " + e.round() + "): ";
      if (e.seq() != expectedSeq) {
        problems.add(at + "sequence number " + e.seq() + " where " + expectedSeq + " was expected (a row was removed or inserted)");
      }
      expectedSeq = e.seq() + 1;
      if (!Arrays.equals(e.previousHash(), prev)) {
        problems.add(at + "does not link to the entry before it (chain broken)");
      }
      // a stored previous hash of another length (an edited row) is a finding, not a crash (LedgerVerifierFuzzTest)
      byte[] hash = e.previousHash().length == LedgerChain.GENESIS.length
          ? LedgerChain.link(e.previousHash(), e.spend(), e.signature()) : null;
      if (!Arrays.equals(hash, e.hash())) {
        problems.add(at + "stored hash does not match its content (entry edited)");
      }
      prev = e.hash();
      PrivacySpend p;
      try {
        p = PrivacySpend.parseFrom(e.spend());
      } catch (InvalidProtocolBufferException ex) {
        problems.add(at + "spend is not a valid PrivacySpend");
        continue;
      }
      if (!p.getPartyId().equals(e.partyId()) || p.getRound() != e.round() || !p.getRoundId().equals(e.roundId())) {
        problems.add(at + "row columns disagree with the signed spend (party " + p.getPartyId() + ", round " + p.getRound() + ")");
      }
      X509Certificate cert;
      try {
        cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(e.signerCertificate()));
      } catch (CertificateException ex) {
        problems.add(at + "signer certificate unreadable");
        continue;
      }
      String cn = cert.getSubjectX500Principal().getName().replaceAll(".*CN=([^,]+).*", "$1");
      if (!cn.equals(p.getPartyId())) {
        problems.add(at + "signed by " + cn + ", not by the party it names");
      }
      String why = SpendSignatures.check(e.spend(), e.signature(), cert, trustRoot, Instant.ofEpochMilli(p.getTimestampMs()));
      if (why != null) {
        problems.add(at + why);
      }
      if (!seen.add(p.getPartyId() + "/" + p.getRoundId())) {
        problems.add(at + "a second entry for the same party and round");
      }
    }
    return new Report(entries.size(), HexFormat.of().formatHex(prev), problems);
  }
}

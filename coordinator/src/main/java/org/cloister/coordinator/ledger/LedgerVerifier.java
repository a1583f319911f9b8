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
import org.cloister.coordinator.store.StudyStore.LedgerEntry;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.trust.ledger.LedgerChain;
import org.cloister.trust.ledger.SpendSignatures;

/**
 * Checks a study's privacy ledger the way a privacy officer would: every entry signed by a
 * consortium certificate whose common name is the party it names, every hash linking to the one
 * before, no (party, round) twice. Any edited, inserted, reordered or removed row is reported.
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
      byte[] hash = LedgerChain.link(e.previousHash(), e.spend(), e.signature());
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

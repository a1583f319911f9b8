package org.cloister.coordinator.ledger;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.security.SecureRandom;
import java.security.cert.CertificateEncodingException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.cloister.coordinator.store.StudyStore.LedgerEntry;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.trust.ledger.LedgerChain;
import org.cloister.trust.ledger.SpendSignatures;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;

/**
 * Ledger rows are what a hostile database operator controls: whatever the stored spend bytes,
 * signatures, certificates, hashes and columns, {@code ledger verify} reports problems and never
 * throws. Inputs are a valid three-entry chain of genuinely signed spends with fuzzer edits.
 */
class LedgerVerifierFuzzTest {
  private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
  private static final CertificateAuthority CA = CertificateAuthority.createRoot("consortium", EcCurve.P256,
      NOW.minus(1, ChronoUnit.DAYS), NOW.plus(365, ChronoUnit.DAYS), new SecureRandom());
  private static final List<LedgerEntry> VALID = chain();
  private static final LedgerVerifier VERIFIER = new LedgerVerifier(CA.certificate());

  private static List<LedgerEntry> chain() {
    IssuedCertificate site = CA.issueClient("site-1", NOW.minusSeconds(60), NOW.plus(30, ChronoUnit.DAYS));
    List<LedgerEntry> out = new ArrayList<>();
    byte[] prev = LedgerChain.GENESIS;
    try {
      for (int r = 1; r <= 3; r++) {
        byte[] spend = PrivacySpend.newBuilder().setStudyId("s").setPartyId("site-1").setRound(r).setRoundId("rid-" + r)
            .setEventJson("{}").setEpsilonAfter(0.5 * r).setDelta(1e-5).setTimestampMs(NOW.toEpochMilli()).build().toByteArray();
        byte[] sig = SpendSignatures.sign(spend, site.privateKey());
        byte[] hash = LedgerChain.link(prev, spend, sig);
        out.add(new LedgerEntry(r, "site-1", r, "rid-" + r, spend, sig, site.certificate().getEncoded(), prev, hash));
        prev = hash;
      }
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
    return List.copyOf(out);
  }

  private static byte[] edit(FuzzedDataProvider d, byte[] b) {
    if (d.consumeBoolean()) {
      return d.consumeBytes(d.consumeInt(0, 2048));
    }
    byte[] out = Arrays.copyOf(b, d.consumeInt(0, b.length + 8));
    for (int i = d.consumeInt(0, 4); i > 0 && out.length > 0; i--) {
      out[d.consumeInt(0, out.length - 1)] = d.consumeByte();
    }
    return out;
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void rows(FuzzedDataProvider d) {
    List<LedgerEntry> rows = new ArrayList<>(VALID);
    for (int n = d.consumeInt(1, 4); n > 0 && d.remainingBytes() > 0; n--) {
      int i = d.consumeInt(0, rows.size() - 1);
      LedgerEntry e = rows.get(i);
      rows.set(i, switch (d.consumeInt(0, 6)) {
        case 0 -> new LedgerEntry(d.consumeLong(), e.partyId(), e.round(), e.roundId(), e.spend(), e.signature(),
            e.signerCertificate(), e.previousHash(), e.hash());
        case 1 -> new LedgerEntry(e.seq(), d.consumeString(40), d.consumeInt(), d.consumeString(40), e.spend(), e.signature(),
            e.signerCertificate(), e.previousHash(), e.hash());
        case 2 -> new LedgerEntry(e.seq(), e.partyId(), e.round(), e.roundId(), edit(d, e.spend()), e.signature(),
            e.signerCertificate(), e.previousHash(), e.hash());
        case 3 -> new LedgerEntry(e.seq(), e.partyId(), e.round(), e.roundId(), e.spend(), edit(d, e.signature()),
            e.signerCertificate(), e.previousHash(), e.hash());
        case 4 -> new LedgerEntry(e.seq(), e.partyId(), e.round(), e.roundId(), e.spend(), e.signature(),
            edit(d, e.signerCertificate()), e.previousHash(), e.hash());
        case 5 -> new LedgerEntry(e.seq(), e.partyId(), e.round(), e.roundId(), e.spend(), e.signature(),
            e.signerCertificate(), edit(d, e.previousHash()), edit(d, e.hash()));
        default -> e;
      });
    }
    if (d.consumeBoolean() && rows.size() > 1) {
      rows.remove(d.consumeInt(0, rows.size() - 1));
    }
    VERIFIER.verify(rows);
  }
}

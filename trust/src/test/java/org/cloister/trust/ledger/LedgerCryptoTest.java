package org.cloister.trust.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.junit.jupiter.api.Test;

class LedgerCryptoTest {
  private static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
  private final CertificateAuthority ca = CertificateAuthority.createRoot("c", EcCurve.P256,
      NOW.minus(1, ChronoUnit.DAYS), NOW.plus(30, ChronoUnit.DAYS), new SecureRandom());
  private final IssuedCertificate site = ca.issueClient("site-1", NOW.minus(1, ChronoUnit.HOURS), NOW.plus(1, ChronoUnit.DAYS));

  @Test
  void signedEntryVerifiesAndAnyEditIsDetected() {
    byte[] entry = "site-1 round 3 eps 1.25".getBytes(StandardCharsets.UTF_8);
    byte[] sig = SpendSignatures.sign(entry, site.privateKey());
    assertThat(SpendSignatures.check(entry, sig, site.certificate(), ca.certificate(), NOW)).isNull();
    byte[] edited = "site-1 round 3 eps 0.25".getBytes(StandardCharsets.UTF_8);
    assertThat(SpendSignatures.check(edited, sig, site.certificate(), ca.certificate(), NOW)).isEqualTo("signature does not verify");
    // a certificate from another CA does not count, nor one used outside its validity
    CertificateAuthority other = CertificateAuthority.createRoot("o", EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS),
        NOW.plus(30, ChronoUnit.DAYS), new SecureRandom());
    assertThat(SpendSignatures.check(entry, sig, site.certificate(), other.certificate(), NOW)).contains("not valid under the consortium CA");
    assertThat(SpendSignatures.check(entry, sig, site.certificate(), ca.certificate(), NOW.plus(2, ChronoUnit.DAYS))).isNotNull();
  }

  @Test
  void chainHashIsSha256OverTheFramedFields() throws Exception {
    // independent computation of the documented framing
    byte[] e = {1, 2, 3};
    byte[] s = {9};
    java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-256");
    d.update(new byte[32]);
    d.update(new byte[] {0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 1, 9});
    assertThat(LedgerChain.link(LedgerChain.GENESIS, e, s)).isEqualTo(d.digest());
    byte[] h1 = LedgerChain.link(LedgerChain.GENESIS, e, s);
    assertThat(HexFormat.of().formatHex(LedgerChain.link(h1, e, s))).isNotEqualTo(HexFormat.of().formatHex(h1));
  }
}

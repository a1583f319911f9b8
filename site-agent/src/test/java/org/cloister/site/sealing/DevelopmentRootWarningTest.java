package org.cloister.site.sealing;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.SecureRandom;
import java.time.Instant;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.junit.jupiter.api.Test;

/**
 * A simulation runs many sites in one process: the NON-AWS (simulated platform) root warning is
 * printed once per root per process, not once per site; another root is warned about again.
 */
class DevelopmentRootWarningTest {

  private static java.security.cert.X509Certificate root(String name) {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    return CertificateAuthority.createRoot(name, EcCurve.P256, now, now.plusSeconds(3600), new SecureRandom(new byte[] {1}))
        .certificate();
  }

  @Test
  void oneWarningPerRootPerProcess() {
    var a = root("dev root a");
    var b = root("dev root b");
    assertThat(AttestedHpkeSealer.firstWarning(a)).isTrue();
    for (int site = 0; site < 99; site++) {
      assertThat(AttestedHpkeSealer.firstWarning(a)).isFalse();
    }
    assertThat(AttestedHpkeSealer.firstWarning(b)).isTrue();
  }
}

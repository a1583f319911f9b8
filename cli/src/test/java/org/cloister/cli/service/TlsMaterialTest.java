package org.cloister.cli.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.cloister.cli.config.ConfigDir;
import org.cloister.cli.config.TlsSection;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A party's TLS material is checked before it dials: what the other side would refuse is said here, in one line. */
class TlsMaterialTest {
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  private final SecureRandom random = new SecureRandom();
  @TempDir Path dir;

  private TlsSection tls(IssuedCertificate cert, CertificateAuthority root) throws Exception {
    Pem.writeCertificates(dir.resolve("site.crt"), cert.chain());
    Files.writeString(dir.resolve("site.key"), Pem.privateKeyToPem(cert.privateKey()));
    Pem.writeCertificates(dir.resolve("ca.crt"), List.of(root.certificate()));
    return new TlsSection("site.crt", "site.key", "ca.crt", null);
  }

  private CertificateAuthority ca(String name) {
    return CertificateAuthority.createRoot(name, EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS), NOW.plus(10, ChronoUnit.DAYS),
        random);
  }

  @Test
  void aCertificateOfAnotherConsortiumIsRefusedBeforeDialling() throws Exception {
    CertificateAuthority ours = ca("consortium");
    CertificateAuthority theirs = ca("consortium");  // same name, another key: caught by the signature
    IssuedCertificate foreign = theirs.issueClient("site-1", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    assertThatThrownBy(() -> TlsMaterial.load(new ConfigDir("site.yaml", dir), tls(foreign, ours)))
        .hasMessageContaining("site.crt").hasMessageContaining("CN=site-1")
        .hasMessageContaining("is not issued by the consortium CA in").hasMessageContaining("ca.crt")
        // two CAs of the same name: the message says why "issuer CN=consortium" is not "CN=consortium"
        .hasMessageContaining("another CA of the same name");
    IssuedCertificate other = ca("elsewhere").issueClient("site-1", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    assertThatThrownBy(() -> TlsMaterial.load(new ConfigDir("site.yaml", dir), tls(other, ours))).hasMessageContaining("issuer CN=elsewhere");
    IssuedCertificate good = ours.issueClient("site-1", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS));
    assertThat(TlsMaterial.load(new ConfigDir("site.yaml", dir), tls(good, ours)).chain().get(0).getSubjectX500Principal().getName()).contains("site-1");
  }

  @Test
  void anExpiredCertificateSaysWhen() throws Exception {
    CertificateAuthority ours = ca("consortium");
    IssuedCertificate expired = ours.issueClient("site-1", NOW.minus(3, ChronoUnit.HOURS), NOW.minus(1, ChronoUnit.HOURS));
    assertThatThrownBy(() -> TlsMaterial.load(new ConfigDir("site.yaml", dir), tls(expired, ours)))
        .hasMessageContaining("expired on " + NOW.minus(1, ChronoUnit.HOURS));
  }

  @Test
  void theStatusNamesRosteredSitesThatNeverJoinedAndWhyTheyWereRefused() {
    var refusals = new org.cloister.coordinator.service.HandshakeRefusals((rpc, kind) -> { });
    refusals.refused("CN=site-3 (serial ab, issuer CN=consortium)", "certificate revoked (serial ab is on the revocation list)");
    refusals.refused("CN=site-3 (serial ab, issuer CN=consortium)", "certificate revoked (serial ab is on the revocation list)");
    String line = CoordinatorService.notJoined(List.of("site-1", "site-2", "site-3", "site-4"),
        new TreeSet<>(Set.of("site-1", "site-2")), refusals);
    assertThat(line).isEqualTo(", not joined (of 4 on the roster): site-3 (refused at the TLS handshake: certificate "
        + "revoked (serial ab is on the revocation list) (2 attempts)), site-4");
    assertThat(CoordinatorService.notJoined(List.of("site-1"), Set.of("site-1"), refusals)).isEmpty();
  }
}

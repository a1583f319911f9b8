package org.cloister.trust.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertPathValidatorException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
  private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
  private static final Instant T1 = Instant.parse("2031-01-01T00:00:00Z");
  private final SecureRandom random = new SecureRandom();

  @TempDir
  Path dir;

  @Test
  void serverCertificateChainsToCaAndCarriesSans() throws Exception {
    CertificateAuthority ca = CertificateAuthority.createRoot("Consortium CA", EcCurve.P256, T0, T1, random);
    IssuedCertificate server = ca.issueServer("aggregator", List.of("localhost"), List.of("127.0.0.1"),
        T0, T0.plusSeconds(86_400 * 30));
    X509Certificate cert = server.certificate();
    CertificatePaths.validate(List.of(cert), ca.certificate(), T0.plusSeconds(3600));
    assertThat(server.chain()).containsExactly(cert, ca.certificate());
    Collection<List<?>> sans = cert.getSubjectAlternativeNames();
    assertThat(sans).contains(List.of(2, "localhost"), List.of(7, "127.0.0.1"));
    assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
    assertThat(cert.getBasicConstraints()).isEqualTo(-1);
    assertThat(ca.certificate().getBasicConstraints()).isEqualTo(Integer.MAX_VALUE);
    assertThat(cert.getSigAlgName()).isEqualTo("SHA256withECDSA");
    // the private key matches the certificate
    Signature s = Signature.getInstance("SHA256withECDSA");
    s.initSign(server.privateKey());
    s.update(new byte[] {1});
    byte[] sig = s.sign();
    s.initVerify(cert.getPublicKey());
    s.update(new byte[] {1});
    assertThat(s.verify(sig)).isTrue();
  }

  @Test
  void expiryAndNotYetValidEnforcedAtInstant() throws Exception {
    CertificateAuthority ca = CertificateAuthority.createRoot("Consortium CA", EcCurve.P384, T0, T1, random);
    IssuedCertificate client = ca.issueClient("site-1", T0.plusSeconds(100), T0.plusSeconds(200));
    assertThat(client.certificate().getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
    assertReason(client.certificate(), ca, T0.plusSeconds(150), null);
    assertReason(client.certificate(), ca, T0.plusSeconds(201), CertPathValidatorException.BasicReason.EXPIRED);
    assertReason(client.certificate(), ca, T0.plusSeconds(99), CertPathValidatorException.BasicReason.NOT_YET_VALID);
  }

  @Test
  void certificateFromAnotherCaDoesNotChain() {
    CertificateAuthority ca = CertificateAuthority.createRoot("CA one", EcCurve.P256, T0, T1, random);
    CertificateAuthority other = CertificateAuthority.createRoot("CA two", EcCurve.P256, T0, T1, random);
    IssuedCertificate client = other.issueClient("mallory", T0, T1);
    assertThatThrownBy(() -> CertificatePaths.validate(List.of(client.certificate()), ca.certificate(), T0))
        .isInstanceOf(CertPathValidatorException.class);
  }

  @Test
  void intermediateChainValidates() throws Exception {
    CertificateAuthority root = CertificateAuthority.createRoot("Root", EcCurve.P384, T0, T1, random);
    CertificateAuthority intermediate = root.issueIntermediate("Intermediate", T0, T1);
    IssuedCertificate leaf = intermediate.issueSigning("leaf", T0, T1);
    CertificatePaths.validate(List.of(leaf.certificate(), intermediate.certificate()), root.certificate(), T0);
    assertThat(leaf.chain()).containsExactly(leaf.certificate(), intermediate.certificate(), root.certificate());
    // an end-entity certificate cannot act as a CA
    assertThatThrownBy(() -> CertificateAuthority.fromExisting(List.of(leaf.certificate()), leaf.privateKey(), random))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a CA");
  }

  @Test
  void validityMustLieWithinCa() {
    CertificateAuthority ca = CertificateAuthority.createRoot("CA", EcCurve.P256, T0, T1, random);
    assertThatThrownBy(() -> ca.issueClient("late", T0, T1.plusSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("within the issuing CA's validity");
    assertThatThrownBy(() -> ca.issueServer("nosan", List.of(), List.of(), T0, T1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ca.issueServer("bad", List.of(), List.of("not-an-ip.example"), T0, T1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("IP address literal");
  }

  @Test
  void pemRoundTrip() throws Exception {
    CertificateAuthority ca = CertificateAuthority.createRoot("Consortium CA", EcCurve.P384, T0, T1, random);
    Path cert = dir.resolve("ca.pem");
    Path key = dir.resolve("ca.key.pem");
    ca.writePem(cert, key);
    assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(Files.getPosixFilePermissions(key)).extracting(Object::toString)
        .containsExactlyInAnyOrder("OWNER_READ", "OWNER_WRITE");
    CertificateAuthority reloaded = CertificateAuthority.readPem(cert, key, random);
    assertThat(reloaded.certificate()).isEqualTo(ca.certificate());
    assertThat(reloaded.curve()).isEqualTo(EcCurve.P384);
    IssuedCertificate server = reloaded.issueServer("s", List.of("localhost"), List.of(), T0, T1);
    CertificatePaths.validate(List.of(server.certificate()), ca.certificate(), T0);

    Path serverKey = dir.resolve("server.key.pem");
    Pem.writePrivateKey(serverKey, server.privateKey());
    assertThat(Pem.readPrivateKey(serverKey).getEncoded()).isEqualTo(server.privateKey().getEncoded());
    Path der = dir.resolve("server.der");
    Files.write(der, server.certificate().getEncoded());
    assertThat(Pem.readCertificate(der)).isEqualTo(server.certificate());
    assertThat(server.toString()).contains("<redacted>");
  }

  @Test
  void readingGarbageGivesClearError() throws Exception {
    Path junk = dir.resolve("junk.pem");
    Files.writeString(junk, "not a certificate");
    assertThatThrownBy(() -> Pem.readCertificate(junk)).hasMessageContaining("not an X.509 certificate");
    assertThatThrownBy(() -> Pem.readPrivateKey(junk)).hasMessageContaining("PKCS#8");
  }

  private static void assertReason(X509Certificate cert, CertificateAuthority ca, Instant at,
      CertPathValidatorException.Reason expected) {
    try {
      CertificatePaths.validate(List.of(cert), ca.certificate(), at);
      assertThat(expected).as("validation passed").isNull();
    } catch (CertPathValidatorException e) {
      assertThat(e.getReason()).isEqualTo(expected);
    }
  }
}

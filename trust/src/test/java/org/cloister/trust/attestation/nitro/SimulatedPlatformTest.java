package org.cloister.trust.attestation.nitro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.Map;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.AttestationPlatform;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimulatedPlatformTest {
  private static final Instant NOW = Instant.parse("2030-06-01T12:00:00.123Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static DevelopmentAttestationAuthority authority;
  private static Map<Integer, byte[]> pcrs;

  @TempDir
  Path dir;

  @BeforeAll
  static void setUp() {
    authority = DevelopmentAttestationAuthority.generate(CLOCK, new SecureRandom());
    pcrs = Map.of(0, SimulatedPcrs.measure("enclave-jar-v1".getBytes(StandardCharsets.UTF_8)),
        1, SimulatedPcrs.measure("config".getBytes(StandardCharsets.UTF_8)),
        2, SimulatedPcrs.measure("policy".getBytes(StandardCharsets.UTF_8)));
  }

  private static AttestationPlatform platform() {
    return new SimulatedNitroPlatform(authority, "sim-enclave-1", pcrs);
  }

  /**
   * Found by the receipts fuzzer: an enclave stamps a receipt's issue time, signs it, then asks for
   * the document that binds it; receipts are verified at their issue time. The document's
   * certificate began at its own second, so a receipt stamped just before a second boundary failed
   * verification as NOT_YET_VALID (a genuine receipt reported as invalid, more often under load).
   */
  @Test
  void aDocumentVerifiesAtAMomentJustBeforeItWasIssued() throws Exception {
    Instant stamped = Instant.parse("2030-06-01T12:00:00.950Z");
    Clock[] now = {Clock.fixed(NOW, ZoneOffset.UTC)};
    Clock moving = new Clock() {
      @Override
      public java.time.ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return now[0].instant();
      }
    };
    DevelopmentAttestationAuthority a = DevelopmentAttestationAuthority.generate(moving, new SecureRandom());
    now[0] = Clock.fixed(Instant.parse("2030-06-01T12:00:01.050Z"), ZoneOffset.UTC); // 100 ms later, in the next second
    byte[] doc = a.issue("m", pcrs, new byte[] {1}, null, null);
    VerifiedAttestation v = new NitroAttestationVerifier(a.rootCertificate()).verify(doc, VerificationPolicy.at(stamped));
    assertThat(v.moduleId()).isEqualTo("m");
  }

  /**
   * The leaf signs a module's documents for up to an hour (as the NSM's certificate serves an instance
   * for hours), then a new one is made; each document verifies at its own time, a leaf always has at
   * least two hours left, and a clock that moved backwards gets a new leaf instead of one not yet valid.
   */
  @Test
  void oneLeafSignsAModulesDocumentsForAnHourThenANewOne() throws Exception {
    Instant[] now = {NOW};
    Clock moving = new Clock() {
      @Override
      public java.time.ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return now[0];
      }
    };
    DevelopmentAttestationAuthority a = DevelopmentAttestationAuthority.generate(moving, new SecureRandom());
    NitroAttestationVerifier verifier = new NitroAttestationVerifier(a.rootCertificate());
    java.util.function.Function<Instant, VerifiedAttestation> docAt = t -> {
      now[0] = t;
      try {
        return verifier.verify(a.issue("m", pcrs, new byte[] {1}, null, null), VerificationPolicy.at(t));
      } catch (AttestationException e) {
        throw new AssertionError(e);
      }
    };
    VerifiedAttestation first = docAt.apply(NOW);
    VerifiedAttestation sameLeaf = docAt.apply(NOW.plus(Duration.ofMinutes(59)));
    VerifiedAttestation otherModule = verifier.verify(a.issue("n", pcrs, new byte[] {1}, null, null),
        VerificationPolicy.at(now[0]));
    VerifiedAttestation nextLeaf = docAt.apply(NOW.plus(Duration.ofMinutes(61)));
    VerifiedAttestation backwards = docAt.apply(NOW.minus(Duration.ofMinutes(10)));
    assertThat(sameLeaf.leafCertificate()).isEqualTo(first.leafCertificate());
    assertThat(otherModule.leafCertificate()).isNotEqualTo(first.leafCertificate());
    assertThat(nextLeaf.leafCertificate()).isNotEqualTo(first.leafCertificate());
    assertThat(backwards.leafCertificate()).isNotEqualTo(nextLeaf.leafCertificate()).isNotEqualTo(first.leafCertificate());
    assertThat(sameLeaf.leafCertificate().getNotAfter().toInstant())
        .isAfterOrEqualTo(NOW.plus(Duration.ofMinutes(59)).plus(Duration.ofHours(2)));
  }

  @Test
  void simulatedDocumentHasNitroShape() {
    byte[] doc = platform().attestationDocument(null, null, null);
    // untagged COSE_Sign1, protected header a1 01 38 22 (ES384), empty unprotected map
    assertThat(HexFormat.of().formatHex(doc, 0, 7)).isEqualTo("8444a1013822a0");
    assertThat(HexFormat.of().formatHex(doc, doc.length - 98, doc.length - 96)).isEqualTo("5860");
  }

  @Test
  void simulatedDocumentVerifiesWithDevelopmentRoot() throws Exception {
    byte[] nonce = {9, 8, 7, 6, 5, 4, 3, 2};
    byte[] userData = new byte[1024];
    byte[] publicKey = new byte[32];
    userData[1023] = 1;
    publicKey[0] = 42;
    byte[] doc = platform().attestationDocument(nonce, userData, publicKey);
    VerificationPolicy policy = VerificationPolicy.at(NOW).withExpectedNonce(nonce)
        .withExpectedPcr(0, pcrs.get(0)).withExpectedPcr(1, pcrs.get(1)).withExpectedPcr(2, pcrs.get(2));
    VerifiedAttestation a = new NitroAttestationVerifier(authority.rootCertificate()).verify(doc, policy);
    assertThat(a.moduleId()).isEqualTo("sim-enclave-1");
    assertThat(a.timestamp()).isEqualTo(NOW);
    assertThat(a.digest()).isEqualTo("SHA384");
    assertThat(a.nonce()).contains(nonce);
    assertThat(a.userData()).hasValueSatisfying(u -> assertThat(u).isEqualTo(userData));
    assertThat(a.publicKey()).hasValueSatisfying(k -> assertThat(k).isEqualTo(publicKey));
    assertThat(a.pcr(0)).hasValueSatisfying(p -> assertThat(p).isEqualTo(pcrs.get(0)));
    assertThat(a.debug()).isFalse();
    assertThat(a.leafCertificate().getNotAfter().toInstant())
        .isEqualTo(Instant.parse("2030-06-01T15:00:00Z"));
  }

  @Test
  void simulatedDocumentFailsUnderDefaultAwsRoot() {
    byte[] doc = platform().attestationDocument(null, null, null);
    assertThatThrownBy(() -> NitroAttestationVerifier.withAwsRoot().verify(doc, VerificationPolicy.at(NOW)))
        .isInstanceOfSatisfying(AttestationException.class,
            e -> assertThat(e.reason()).isEqualTo(FailureReason.UNTRUSTED_ROOT));
  }

  @Test
  void wrongNonceIsNonceMismatch() {
    byte[] doc = platform().attestationDocument(new byte[] {1, 2, 3}, null, null);
    assertReason(doc, VerificationPolicy.at(NOW).withExpectedNonce(new byte[] {1, 2, 4}), FailureReason.NONCE_MISMATCH);
  }

  @Test
  void leafValidForThreeHours() {
    byte[] doc = platform().attestationDocument(null, null, null);
    assertReason(doc, VerificationPolicy.at(NOW.plus(Duration.ofHours(3)).plusSeconds(1)), FailureReason.EXPIRED);
    assertReason(doc, VerificationPolicy.at(NOW.minusSeconds(5)), FailureReason.NOT_YET_VALID);
  }

  @Test
  void differentArtifactYieldsDifferentPcr0AndMismatch() throws Exception {
    Path jarA = dir.resolve("a.jar");
    Path jarB = dir.resolve("b.jar");
    Files.write(jarA, "code version A".getBytes(StandardCharsets.UTF_8));
    Files.write(jarB, "code version B".getBytes(StandardCharsets.UTF_8));
    byte[] config = "cfg".getBytes(StandardCharsets.UTF_8);
    byte[] policyBytes = "pol".getBytes(StandardCharsets.UTF_8);
    Map<Integer, byte[]> a = SimulatedPcrs.of(jarA, config, policyBytes);
    Map<Integer, byte[]> b = SimulatedPcrs.of(jarB, config, policyBytes);
    assertThat(a.get(0)).hasSize(48).isNotEqualTo(b.get(0));
    assertThat(a.get(1)).isEqualTo(b.get(1));
    // SHA-384("abc"), FIPS 180-2 example
    assertThat(HexFormat.of().formatHex(SimulatedPcrs.measure("abc".getBytes(StandardCharsets.US_ASCII))))
        .isEqualTo("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            + "8086072ba1e7cc2358baeca134c825a7");

    byte[] docB = new SimulatedNitroPlatform(authority, "sim", b).attestationDocument(null, null, null);
    assertReason(docB, VerificationPolicy.at(NOW).withExpectedPcr(0, a.get(0)), FailureReason.PCR_MISMATCH);
  }

  @Test
  void zeroPcrsAreDebugEnclave() throws Exception {
    byte[] zero = new byte[48];
    byte[] doc = new SimulatedNitroPlatform(authority, "dbg", Map.of(0, zero, 1, zero, 2, zero))
        .attestationDocument(null, null, null);
    assertReason(doc, VerificationPolicy.at(NOW), FailureReason.DEBUG_ENCLAVE);
    assertThat(new NitroAttestationVerifier(authority.rootCertificate())
        .verify(doc, VerificationPolicy.at(NOW).withDebugAllowed(true)).debug()).isTrue();
  }

  @Test
  void alteredSimulatedDocumentIsBadSignature() {
    byte[] doc = platform().attestationDocument(null, "hello".getBytes(StandardCharsets.UTF_8), null);
    int at = indexOf(doc, "hello".getBytes(StandardCharsets.UTF_8));
    doc[at] = 'j';
    assertReason(doc, VerificationPolicy.at(NOW), FailureReason.BAD_SIGNATURE);
  }

  @Test
  void rootPersistsAcrossProcesses() throws Exception {
    Path cert = dir.resolve("dev-root.pem");
    Path key = dir.resolve("dev-root.key.pem");
    authority.save(cert, key);
    assertThat(Files.readString(cert)).startsWith("-----BEGIN CERTIFICATE-----");
    assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----");
    // The issuer side (enclave) reloads the full authority; a verifier side (key broker, site) needs only the cert.
    Clock later = Clock.fixed(NOW.plus(Duration.ofDays(1)), ZoneOffset.UTC);
    DevelopmentAttestationAuthority reloaded = DevelopmentAttestationAuthority.load(cert, key, later, new SecureRandom());
    byte[] doc = new SimulatedNitroPlatform(reloaded, "sim", pcrs).attestationDocument(null, null, null);
    var verifier = new NitroAttestationVerifier(DevelopmentAttestationAuthority.readRootCertificate(cert));
    assertThat(verifier.verify(doc, VerificationPolicy.at(later.instant())).moduleId()).isEqualTo("sim");
    // A different development root does not verify it.
    var stranger = DevelopmentAttestationAuthority.generate(CLOCK, new SecureRandom());
    assertThatThrownBy(() -> new NitroAttestationVerifier(stranger.rootCertificate())
        .verify(doc, VerificationPolicy.at(later.instant())))
        .isInstanceOfSatisfying(AttestationException.class,
            e -> assertThat(e.reason()).isIn(FailureReason.UNTRUSTED_ROOT, FailureReason.BAD_SIGNATURE));
  }

  @Test
  void issuerEnforcesFieldLimits() {
    AttestationPlatform p = platform();
    assertThatThrownBy(() -> p.attestationDocument(new byte[1025], null, null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nonce");
    assertThatThrownBy(() -> new SimulatedNitroPlatform(authority, "x", Map.of(0, new byte[47], 1, new byte[48],
        2, new byte[48])).attestationDocument(null, null, null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PCR0");
  }

  private static void assertReason(byte[] doc, VerificationPolicy policy, FailureReason reason) {
    assertThatThrownBy(() -> new NitroAttestationVerifier(authority.rootCertificate()).verify(doc, policy))
        .isInstanceOfSatisfying(AttestationException.class, e -> assertThat(e.reason()).isEqualTo(reason));
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }
}

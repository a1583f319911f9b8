package org.cloister.trust.attestation.nitro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The real AWS Nitro documents behave as the fixtures' README says. */
class NitroFixturesTest {
  private static final Instant PROD_VALID = Instant.parse("2021-03-17T23:00:00Z");
  private static final Instant DEBUG_VALID = Instant.ofEpochSecond(1614967200L);

  private final NitroAttestationVerifier verifier = NitroAttestationVerifier.withAwsRoot();

  @Test
  void pinnedAwsRootHasPublishedFingerprint() throws Exception {
    byte[] der = AwsNitroRoot.certificate().getEncoded();
    assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der)))
        .isEqualTo("641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");
    assertThat(der).isEqualTo(Fixtures.bytes("aws-nitro-root-g1.der"));
    assertThat(AwsNitroRoot.certificate().getSubjectX500Principal().getName()).contains("aws.nitro-enclaves");
  }

  @Test
  void pinnedRootLoaderRejectsAlteredCertificate() {
    byte[] der = Fixtures.bytes("aws-nitro-root-g1.der");
    der[der.length - 10] ^= 1;
    assertThatThrownBy(() -> AwsNitroRoot.pinned(der, AwsNitroRoot.SHA256_FINGERPRINT))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("fingerprint mismatch");
  }

  @Test
  void productionDocumentVerifiesWhileLeafIsValid() throws Exception {
    VerifiedAttestation a = verifier.verify(Fixtures.bytes(Fixtures.PROD), VerificationPolicy.at(PROD_VALID));
    assertThat(a.moduleId()).isEqualTo(Fixtures.PROD_MODULE_ID);
    assertThat(a.digest()).isEqualTo("SHA384");
    assertThat(a.pcrs()).containsEntry(0, Fixtures.PROD_PCR0).containsEntry(1, Fixtures.PROD_PCR1)
        .containsEntry(2, Fixtures.PROD_PCR2);
    assertThat(a.pcrs()).hasSize(16);
    assertThat(a.debug()).isFalse();
    assertThat(a.timestamp()).isBetween(Instant.parse("2021-03-17T22:00:00Z"), Instant.parse("2021-03-17T22:05:00Z"));
    assertThat(a.leafCertificate().getNotAfter().toInstant()).isEqualTo(Instant.parse("2021-03-18T01:01:55Z"));
  }

  @Test
  void productionDocumentVerifiesAtBothEndsOfLeafValidity() throws Exception {
    byte[] doc = Fixtures.bytes(Fixtures.PROD);
    verifier.verify(doc, VerificationPolicy.at(Instant.parse("2021-03-17T22:01:56Z")));
    verifier.verify(doc, VerificationPolicy.at(Instant.parse("2021-03-18T01:01:55Z")));
    assertReason(doc, VerificationPolicy.at(Instant.parse("2021-03-18T01:01:56Z")), FailureReason.EXPIRED);
    assertReason(doc, VerificationPolicy.at(Instant.parse("2021-03-17T22:01:54Z")), FailureReason.NOT_YET_VALID);
  }

  @Test
  void productionDocumentExpiredIn2050() {
    assertReason(Fixtures.bytes(Fixtures.PROD), VerificationPolicy.at(Instant.parse("2050-01-01T00:00:00Z")),
        FailureReason.EXPIRED);
  }

  @Test
  void productionDocumentMatchesItsPcrPolicy() throws Exception {
    VerificationPolicy policy = VerificationPolicy.at(PROD_VALID).withExpectedPcr(0, Fixtures.PROD_PCR0)
        .withExpectedPcr(1, Fixtures.PROD_PCR1).withExpectedPcr(2, Fixtures.PROD_PCR2);
    assertThat(verifier.verify(Fixtures.bytes(Fixtures.PROD), policy).moduleId()).isEqualTo(Fixtures.PROD_MODULE_ID);
  }

  @Test
  void pcrMismatchDetected() {
    String other = Fixtures.PROD_PCR0.substring(0, 94) + "ae"; // last byte differs
    AttestationException e = assertReason(Fixtures.bytes(Fixtures.PROD),
        VerificationPolicy.at(PROD_VALID).withExpectedPcr(0, other), FailureReason.PCR_MISMATCH);
    assertThat(e.getMessage()).contains("PCR0").contains(Fixtures.PROD_PCR0).contains(other);
  }

  @Test
  void pcrAbsentFromDocumentIsMismatch() {
    assertReason(Fixtures.bytes(Fixtures.PROD),
        VerificationPolicy.at(PROD_VALID).withExpectedPcr(20, Fixtures.PROD_PCR0), FailureReason.PCR_MISMATCH);
  }

  @Test
  void expectedNonceAbsentFromDocumentIsNonceMismatch() {
    assertReason(Fixtures.bytes(Fixtures.PROD),
        VerificationPolicy.at(PROD_VALID).withExpectedNonce(new byte[] {1, 2, 3}), FailureReason.NONCE_MISMATCH);
  }

  @Test
  void debugDocumentRefusedUnlessAllowed() throws Exception {
    byte[] doc = Fixtures.bytes(Fixtures.DEBUG);
    assertReason(doc, VerificationPolicy.at(DEBUG_VALID), FailureReason.DEBUG_ENCLAVE);
    VerifiedAttestation a = verifier.verify(doc, VerificationPolicy.at(DEBUG_VALID).withDebugAllowed(true));
    assertThat(a.debug()).isTrue();
    assertThat(a.moduleId()).isEqualTo("i-026ae32a18c80f866-enc01780356441553dc");
    assertThat(a.pcrs().get(0)).matches("0{96}");
  }

  @Test
  void debugDocumentExpiredAndNotYetValid() {
    byte[] doc = Fixtures.bytes(Fixtures.DEBUG);
    assertReason(doc, VerificationPolicy.at(Instant.ofEpochSecond(1618407754L)).withDebugAllowed(true),
        FailureReason.EXPIRED);
    assertReason(doc, VerificationPolicy.at(Instant.ofEpochSecond(1614947200L)).withDebugAllowed(true),
        FailureReason.NOT_YET_VALID);
  }

  @ParameterizedTest
  @ValueSource(ints = {0x99f, 0x13b, 0x281})
  void flippedByteInvalidatesDebugDocument(int offset) {
    byte[] doc = Fixtures.bytes(Fixtures.DEBUG);
    assertThat(doc[offset]).isNotEqualTo((byte) 0xff);
    doc[offset] = (byte) 0xff;
    assertThatThrownBy(() -> verifier.verify(doc, VerificationPolicy.at(DEBUG_VALID).withDebugAllowed(true)))
        .isInstanceOf(AttestationException.class)
        .extracting(t -> ((AttestationException) t).reason())
        .isIn(FailureReason.BAD_SIGNATURE, FailureReason.MALFORMED);
  }

  @Test
  void flippedBytesGiveTheExpectedReasons() {
    // 0x13b and 0x281 lie inside PCR values of the signed payload.
    assertThat(flipReason(0x13b)).isEqualTo(FailureReason.BAD_SIGNATURE);
    assertThat(flipReason(0x281)).isEqualTo(FailureReason.BAD_SIGNATURE);
    // 0x99f lies inside the to-be-signed part of the regional certificate (cabundle[1]), signed by the root.
    assertThat(flipReason(0x99f)).isEqualTo(FailureReason.BAD_SIGNATURE);
  }

  private FailureReason flipReason(int offset) {
    byte[] doc = Fixtures.bytes(Fixtures.DEBUG);
    doc[offset] = (byte) 0xff;
    try {
      verifier.verify(doc, VerificationPolicy.at(DEBUG_VALID).withDebugAllowed(true));
      return null;
    } catch (AttestationException e) {
      return e.reason();
    }
  }

  @Test
  void selfSignedBlockyDocumentRejected() {
    byte[] doc = Fixtures.blocky();
    // As published its unprotected header is CBOR null instead of a map.
    AttestationException e = assertReason(doc, VerificationPolicy.at(Instant.parse("2024-04-17T19:00:00Z")),
        FailureReason.MALFORMED);
    assertThat(e.getMessage()).contains("unprotected header");
    // With a well-formed (empty map) unprotected header, the null cabundle cannot reach the AWS root.
    assertThat(doc[6] & 0xff).isEqualTo(0xf6);
    doc[6] = (byte) 0xa0;
    assertReason(doc, VerificationPolicy.at(Instant.parse("2024-04-17T19:00:00Z")).withDebugAllowed(true),
        FailureReason.UNTRUSTED_ROOT);
  }

  @Test
  void productionDocumentRejectedUnderAnotherRoot() throws Exception {
    var other = DevelopmentAttestationAuthority.generate(java.time.Clock.fixed(PROD_VALID, java.time.ZoneOffset.UTC),
        new java.security.SecureRandom());
    var devVerifier = new NitroAttestationVerifier(other.rootCertificate());
    assertThatThrownBy(() -> devVerifier.verify(Fixtures.bytes(Fixtures.PROD), VerificationPolicy.at(PROD_VALID)))
        .isInstanceOf(AttestationException.class)
        .extracting(t -> ((AttestationException) t).reason()).isEqualTo(FailureReason.UNTRUSTED_ROOT);
  }

  private AttestationException assertReason(byte[] doc, VerificationPolicy policy, FailureReason reason) {
    try {
      VerifiedAttestation a = verifier.verify(doc, policy);
      throw new AssertionError("expected " + reason + " but document verified: " + a);
    } catch (AttestationException e) {
      assertThat(e.reason()).as(e.getMessage()).isEqualTo(reason);
      assertThat(e.getMessage()).isNotBlank();
      return e;
    }
  }
}

package org.cloister.trust.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.attestation.nitro.SimulatedNitroPlatform;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EnclaveSignaturesTest {
  private static final Instant NOW = Instant.parse("2030-06-01T12:00:00Z");
  private static final byte[] NONCE = "verifier-nonce-0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] MESSAGE = "round 7 challenge".getBytes(StandardCharsets.US_ASCII);
  private static DevelopmentAttestationAuthority authority;
  private static SimulatedNitroPlatform platform;
  private static KeyPair enclaveKey;

  @BeforeAll
  static void setUp() throws Exception {
    SecureRandom random = SecureRandom.getInstance("SHA1PRNG");
    random.setSeed(42);
    authority = DevelopmentAttestationAuthority.generate(Clock.fixed(NOW, ZoneOffset.UTC), random);
    platform = new SimulatedNitroPlatform(authority, "enclave", Map.of(0, SimulatedPcrs.measure(new byte[] {1}),
        1, SimulatedPcrs.measure(new byte[] {2}), 2, SimulatedPcrs.measure(new byte[] {3})));
    enclaveKey = p256(random);
  }

  private static KeyPair p256(SecureRandom random) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), random);
    return g.generateKeyPair();
  }

  private static VerifiedAttestation verified(byte[] userData) throws AttestationException {
    byte[] doc = platform.attestationDocument(NONCE, userData, new byte[32]);
    return new NitroAttestationVerifier(authority.rootCertificate())
        .verify(doc, VerificationPolicy.at(NOW).withExpectedNonce(NONCE));
  }

  @Test
  void aSignatureVerifiesUnderTheKeyTheVerifiedDocumentBinds() throws Exception {
    VerifiedAttestation a = verified(EnclaveSignatures.userData(enclaveKey.getPublic()));
    byte[] sig = EnclaveSignatures.sign(enclaveKey.getPrivate(), "round-challenge", MESSAGE);

    assertThat(EnclaveSignatures.signingKey(a)).isEqualTo(enclaveKey.getPublic());
    assertThat(EnclaveSignatures.verify(a, "round-challenge", MESSAGE, sig)).isTrue();
  }

  @Test
  void theSignatureIsSha256WithEcdsaOverTheDomainPurposeAndMessageAsTheJdkVerifiesIt() throws Exception {
    byte[] sig = EnclaveSignatures.sign(enclaveKey.getPrivate(), "receipt", MESSAGE);

    // independent reference: SunEC's SHA256withECDSA over the documented bytes
    java.security.Signature jdk = java.security.Signature.getInstance("SHA256withECDSA", "SunEC");
    jdk.initVerify(enclaveKey.getPublic());
    jdk.update("cloister/v1 enclave-signature\0receipt\0".getBytes(StandardCharsets.US_ASCII));
    jdk.update(MESSAGE);
    assertThat(jdk.verify(sig)).isTrue();
    jdk.initVerify(enclaveKey.getPublic());
    jdk.update("cloister/v1 enclave-signature\0round-challenge\0".getBytes(StandardCharsets.US_ASCII));
    jdk.update(MESSAGE);
    assertThat(jdk.verify(sig)).isFalse();
    // RFC 6979 nonces: the same key and bytes sign the same
    assertThat(EnclaveSignatures.sign(enclaveKey.getPrivate(), "receipt", MESSAGE)).isEqualTo(sig);
  }

  @Test
  void otherPurposeOtherMessageOrOtherKeyDoNotVerify() throws Exception {
    VerifiedAttestation a = verified(EnclaveSignatures.userData(enclaveKey.getPublic()));
    byte[] sig = EnclaveSignatures.sign(enclaveKey.getPrivate(), "round-challenge", MESSAGE);
    byte[] altered = MESSAGE.clone();
    altered[0] ^= 1;
    KeyPair host = p256(new SecureRandom());

    assertThat(EnclaveSignatures.verify(a, "receipt", MESSAGE, sig)).as("domain separation").isFalse();
    assertThat(EnclaveSignatures.verify(a, "round-challenge", altered, sig)).isFalse();
    assertThat(EnclaveSignatures.verify(a, "round-challenge", MESSAGE,
        EnclaveSignatures.sign(host.getPrivate(), "round-challenge", MESSAGE))).as("a key the host made").isFalse();
    assertThat(EnclaveSignatures.verify(a, "round-challenge", MESSAGE, new byte[0])).isFalse();
  }

  @Test
  void aDocumentWithoutTheBindingHasNoSigningKey() throws Exception {
    assertThatThrownBy(() -> EnclaveSignatures.signingKey(verified(null)))
        .isInstanceOfSatisfying(AttestationException.class, e -> assertThat(e.reason()).isEqualTo(FailureReason.NO_SIGNING_KEY))
        .hasMessageContaining("no user_data");
    assertThatThrownBy(() -> EnclaveSignatures.signingKey(verified("something else".getBytes(StandardCharsets.US_ASCII))))
        .isInstanceOfSatisfying(AttestationException.class, e -> assertThat(e.reason()).isEqualTo(FailureReason.NO_SIGNING_KEY))
        .hasMessageContaining(EnclaveSignatures.USER_DATA_TAG);
    byte[] truncated = EnclaveSignatures.userData(enclaveKey.getPublic());
    assertThatThrownBy(() -> EnclaveSignatures.signingKey(verified(java.util.Arrays.copyOf(truncated, truncated.length - 5))))
        .isInstanceOfSatisfying(AttestationException.class, e -> assertThat(e.reason()).isEqualTo(FailureReason.NO_SIGNING_KEY));
  }

  @Test
  void onlyP256KeysAreBound() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp384r1"));
    assertThatThrownBy(() -> EnclaveSignatures.userData(g.generateKeyPair().getPublic()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("P-256");
  }
}

package org.cloister.enclave.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ContributionStatement;
import org.cloister.protocol.v1.SealedUpdate;
import org.cloister.protocol.v1.SignedContribution;
import org.cloister.trust.ledger.SpendSignatures;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The enclave's check of a site's signed contribution statement, one named reason per forgery. */
class ContributionVerifierTest {
  static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");
  static final byte[] CHALLENGE = new byte[32];
  static final byte[] PAYLOAD = "sealed update bytes".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  static ContributionVerifier.OpenRound round;
  static CertificateAuthority ca;
  static CertificateAuthority otherCa;
  static ContributionVerifier verifier;

  @BeforeAll
  static void setUp() throws Exception {
    SecureRandom random = SecureRandom.getInstance("SHA1PRNG");
    random.setSeed(20);
    random.nextBytes(CHALLENGE);
    round = new ContributionVerifier.OpenRound("study", 4, "r-4", 3, CHALLENGE);
    ca = CertificateAuthority.createRoot("consortium", EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS),
        NOW.plus(1, ChronoUnit.DAYS), random);
    otherCa = CertificateAuthority.createRoot("consortium", EcCurve.P256, NOW.minus(1, ChronoUnit.DAYS),
        NOW.plus(1, ChronoUnit.DAYS), random);
    String pem = Pem.certificatesToPem(List.of(ca.certificate()));
    EnclaveConfig config = new EnclaveConfig(EnclaveConfig.FORMAT, "m", List.of(
        new EnclaveConfig.Member("site-1", EnclaveConfig.ROLE_SITE, "ab".repeat(32)),
        new EnclaveConfig.Member("evaluator", EnclaveConfig.ROLE_OBSERVER, "cd".repeat(32))), pem,
        new EnclaveConfig.KeyBroker("k", pem, "broker"));
    verifier = new ContributionVerifier(config, Clock.fixed(NOW, ZoneOffset.UTC));
  }

  static IssuedCertificate cert(CertificateAuthority issuer, String cn) {
    return issuer.issueClient(cn, NOW.minus(1, ChronoUnit.HOURS), NOW.plus(1, ChronoUnit.HOURS));
  }

  static ContributionStatement.Builder statement(String site) {
    return ContributionStatement.newBuilder().setStudyId("study").setRound(4).setRoundId("r-4")
        .setRoundChallenge(ByteString.copyFrom(CHALLENGE)).setBaseModelVersion(3).setSiteId(site).setNumExamples(152)
        .setSpendSha256(ByteString.copyFrom(new byte[32])).setPayloadFormat(AggregationSession.UPDATE_FORMAT)
        .setPayloadSha256(ByteString.copyFrom(FloatCodec.sha256(PAYLOAD)));
  }

  static SealedUpdate update(String label, ContributionStatement st, IssuedCertificate signer) throws Exception {
    byte[] bytes = st.toByteArray();
    return SealedUpdate.newBuilder().setSiteId(label).setNumExamples(1).setPayloadFormat(AggregationSession.UPDATE_FORMAT)
        .setPayload(ByteString.copyFrom(PAYLOAD)).setContribution(SignedContribution.newBuilder()
            .setStatement(ByteString.copyFrom(bytes)).setSignature(ByteString.copyFrom(SpendSignatures.sign(bytes,
                signer.privateKey()))).setCertificate(ByteString.copyFrom(signer.certificate().getEncoded()))).build();
  }

  static String refusal(SealedUpdate u) {
    try {
      verifier.verify(u, u.getPayload().toByteArray(), round);
      return null;
    } catch (ContributionVerifier.Refused e) {
      return e.getMessage();
    }
  }

  @Test
  void aValidStatementGivesTheSignersIdentityAndSignedWeight() throws Exception {
    ContributionVerifier.Verified v = verifier.verify(update("site-1", statement("site-1").build(), cert(ca, "site-1")),
        PAYLOAD, round);
    assertThat(v.siteId()).isEqualTo("site-1");
    assertThat(v.weight()).as("the statement's weight, not the host's 1").isEqualTo(152);
  }

  @Test
  void everyForgeryIsRefusedWithANamedReason() throws Exception {
    IssuedCertificate site1 = cert(ca, "site-1");
    assertThat(refusal(update("site-1", statement("site-1").build(), site1).toBuilder().clearContribution().build()))
        .startsWith("unauthenticated:").contains("no contribution statement");
    assertThat(refusal(update("site-1", statement("site-1").build(), cert(otherCa, "site-1"))))
        .startsWith("unauthenticated:").contains("not valid under the consortium CA");
    SealedUpdate edited = update("site-1", statement("site-1").build(), site1);
    edited = edited.toBuilder().setContribution(edited.getContribution().toBuilder().setStatement(
        statement("site-1").setNumExamples(1L << 40).build().toByteString())).build();
    assertThat(refusal(edited)).startsWith("unauthenticated:").contains("signature does not verify");
    assertThat(refusal(update("site-1", statement("site-2").build(), site1))).startsWith("unauthenticated:")
        .contains("names site 'site-2' but is signed by site-1");
    assertThat(refusal(update("site-9", statement("site-9").build(), cert(ca, "site-9")))).startsWith("unauthenticated:")
        .contains("not in the enclave's consortium configuration");
    assertThat(refusal(update("evaluator", statement("evaluator").build(), cert(ca, "evaluator"))))
        .startsWith("not_a_training_site:");
    assertThat(refusal(update("site-2", statement("site-1").build(), site1))).startsWith("unauthenticated:")
        .contains("labelled the update 'site-2'");
    assertThat(refusal(update("site-1", statement("site-1").setRoundId("r-3").build(), site1))).startsWith("wrong_round:");
    assertThat(refusal(update("site-1", statement("site-1").setRoundChallenge(ByteString.copyFrom(new byte[32])).build(),
        site1))).startsWith("wrong_challenge:");
    assertThat(refusal(update("site-1", statement("site-1").setBaseModelVersion(2).build(), site1)))
        .startsWith("wrong_model_version:");
    assertThat(refusal(update("site-1", statement("site-1").build(), site1).toBuilder()
        .setPayload(ByteString.copyFromUtf8("another site's bytes")).build())).startsWith("payload_mismatch:");
    assertThat(refusal(update("site-1", statement("site-1").setNumExamples(0).build(), site1))).startsWith("bad_weight:");
    assertThat(refusal(update("site-1", statement("site-1").clearSpendSha256().build(), site1))).startsWith("malformed:");
  }

  @Test
  void aCertificateOutsideItsValidityIsRefused() throws Exception {
    IssuedCertificate expired = ca.issueClient("site-1", NOW.minus(3, ChronoUnit.HOURS), NOW.minus(2, ChronoUnit.HOURS));
    assertThatThrownBy(() -> verifier.verify(update("site-1", statement("site-1").build(), expired), PAYLOAD, round))
        .hasMessageStartingWith("unauthenticated:");
  }

  /** A real streaming message (binding 2 needs one): enc, 4096-byte segments, their tags. */
  static byte[] streamed(int length) throws Exception {
    org.cloister.trust.hpke.Hpke hpke = new org.cloister.trust.hpke.Hpke();
    return hpke.sealStream(hpke.generateKeyPair().publicKey(), "i".getBytes(), "a".getBytes(), new byte[length]);
  }

  static ContributionStatement.Builder boundTo(byte[] payload) {
    return statement("site-1").clearPayloadSha256().setPayloadBinding(2)
        .setPayloadBindingSha256(ByteString.copyFrom(org.cloister.trust.hpke.StreamBinding.digest(payload)));
  }

  static String refusal(SealedUpdate u, byte[] payload) {
    try {
      verifier.verify(u.toBuilder().setPayload(ByteString.copyFrom(payload)).build(), payload, round);
      return null;
    } catch (ContributionVerifier.Refused e) {
      return e.getMessage();
    }
  }

  @Test
  void bindingTwoBindsEncTagsAndLengthAndIsRefusedWhenMisused() throws Exception {
    IssuedCertificate site1 = cert(ca, "site-1");
    byte[] payload = streamed(3 * 4096 + 8);
    SealedUpdate u = update("site-1", boundTo(payload).build(), site1);
    assertThat(refusal(u, payload)).isNull();
    byte[] tag = payload.clone();
    tag[tag.length - 1] ^= 1;
    assertThat(refusal(u, tag)).startsWith("payload_mismatch:").contains("altered or swapped");
    assertThat(refusal(u, streamed(3 * 4096 + 8))).as("sealed again under a fresh enc").startsWith("payload_mismatch:");
    assertThat(refusal(u, Arrays.copyOf(payload, 32 + 3 * 4112))).as("last segment dropped").startsWith("payload_mismatch:");
    assertThat(refusal(u, Arrays.copyOf(payload, 32 + 3 * 4112 + 10))).startsWith("payload_mismatch:")
        .contains("no valid length");
    assertThat(refusal(update("site-1", boundTo(payload).setPayloadBinding(7).build(), site1), payload))
        .startsWith("malformed:").contains("payload binding 7");
    assertThat(refusal(update("site-1", boundTo(payload).setPayloadSha256(ByteString.copyFrom(FloatCodec.sha256(payload)))
        .build(), site1), payload)).startsWith("malformed:").contains("payload binding 2");
    assertThat(refusal(update("site-1", boundTo(payload).setPayloadFormat("f32le").build(), site1), payload))
        .startsWith("payload_mismatch:").contains("format");
    assertThat(refusal(update("site-1", statement("site-1").clearPayloadSha256().build(), site1), payload))
        .as("binding 0 with no digest").startsWith("payload_mismatch:");
  }
}

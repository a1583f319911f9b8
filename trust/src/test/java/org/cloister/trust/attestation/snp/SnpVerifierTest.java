package org.cloister.trust.attestation.snp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidencePolicy;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.SharedFixtures;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.VerifiedEvidence;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The real SEV-SNP reports of ../shared/fixtures/snp (Milan v2 VCEK, Genoa v3 VCEK, Milan v3 VLEK). */
class SnpVerifierTest {
  private final SnpVerifier verifier = new SnpVerifier();

  static Stream<Path> cases() {
    return SharedFixtures.cases("snp").stream();
  }

  private static EvidencePolicy policy(JsonNode c) {
    return EvidencePolicy.at(Instant.ofEpochSecond(c.get("verify_at").asLong()))
        .withDebugAllowed(c.get("debug").asBoolean());
  }

  @Test
  void fixturesArePresent() {
    SharedFixtures.require();
    assertThat(cases()).hasSizeGreaterThanOrEqualTo(3);
  }

  @ParameterizedTest
  @MethodSource("cases")
  void realReportVerifiesWithItsMeasurements(Path dir) throws Exception {
    JsonNode c = SharedFixtures.caseJson(dir);
    VerifiedEvidence v = verifier.verify(SharedFixtures.evidence(dir), SharedFixtures.collateral(dir), policy(c));
    assertThat(v.platform()).isEqualTo(TeePlatform.SEV_SNP);
    assertThat(v.measurements().get("measurement")).isEqualTo(c.get("fields").get("measurement").asText());
    assertThat(HexFormat.of().formatHex(v.reportData().orElseThrow()))
        .isEqualTo(c.get("fields").get("report_data").asText());
    assertThat(v.debug()).isEqualTo(c.get("debug").asBoolean());
    assertThat(v.tcb()).isEmpty();
  }

  @ParameterizedTest
  @MethodSource("cases")
  void everyNegativeOfTheCaseIsRefused(Path dir) {
    JsonNode c = SharedFixtures.caseJson(dir);
    byte[] evidence = SharedFixtures.evidence(dir);
    Collateral collateral = SharedFixtures.collateral(dir);
    for (JsonNode n : c.get("negatives")) {
      switch (n.get("kind").asText()) {
        case "flip" -> {
          byte[] bad = evidence.clone();
          bad[n.get("offset").asInt()] ^= 0x01;
          assertReason(bad, collateral, policy(c), FailureReason.BAD_SIGNATURE);
        }
        case "at" -> assertReason(evidence, collateral,
            EvidencePolicy.at(Instant.ofEpochSecond(n.get("at").asLong())).withDebugAllowed(true),
            FailureReason.EXPIRED);
        case "expect" -> assertReason(evidence, collateral,
            policy(c).withExpected(n.get("name").asText(), n.get("hex").asText()),
            FailureReason.MEASUREMENT_MISMATCH);
        default -> throw new AssertionError("unknown negative " + n);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("cases")
  void expectedMeasurementAndReportDataAccepted(Path dir) throws Exception {
    JsonNode c = SharedFixtures.caseJson(dir);
    EvidencePolicy p = policy(c).withExpected("measurement", c.get("fields").get("measurement").asText())
        .withExpected("report_data", c.get("fields").get("report_data").asText());
    assertThat(verifier.verify(SharedFixtures.evidence(dir), SharedFixtures.collateral(dir), p).debug())
        .isEqualTo(c.get("debug").asBoolean());
  }

  @Test
  void debugGuestRefusedUnlessAllowed() {
    Path dir = SharedFixtures.require().resolve("snp/go-sev-guest-milan");
    AttestationException e = assertReason(SharedFixtures.evidence(dir), SharedFixtures.collateral(dir),
        EvidencePolicy.at(Instant.parse("2024-01-01T00:00:00Z")), FailureReason.DEBUG_ENCLAVE);
    assertThat(e.getMessage()).contains("bit 19");
  }

  @Test
  void foreignRootInCollateralIsRefused() throws Exception {
    Path dir = SharedFixtures.require().resolve("snp/trustee-genoa");
    Collateral real = SharedFixtures.collateral(dir);
    CertificateAuthority foreign = CertificateAuthority.createRoot("ARK-Genoa", EcCurve.P384,
        Instant.parse("2020-01-01T00:00:00Z"), Instant.parse("2040-01-01T00:00:00Z"), new java.security.SecureRandom());
    List<java.security.cert.X509Certificate> certs = new ArrayList<>(real.certificates());
    certs.add(foreign.certificate());
    AttestationException e = assertReason(SharedFixtures.evidence(dir),
        new Collateral(certs, List.of(), List.of(), List.of()),
        EvidencePolicy.at(Instant.parse("2026-01-01T00:00:00Z")), FailureReason.UNTRUSTED_ROOT);
    assertThat(e.getMessage()).contains("not a pinned AMD ARK");
  }

  @Test
  void vcekOfAnotherProductOrWithoutItsAskIsRefused() {
    Path root = SharedFixtures.require();
    Collateral milan = SharedFixtures.collateral(root.resolve("snp/go-sev-guest-milan"));
    Collateral genoa = SharedFixtures.collateral(root.resolve("snp/trustee-genoa"));
    // Genoa's report with Milan's chain: the VCEK is absent, the report cannot be signed by Milan's VCEK.
    assertThatThrownBy(() -> verifier.verify(SharedFixtures.evidence(root.resolve("snp/trustee-genoa")), milan,
        EvidencePolicy.at(Instant.parse("2026-01-01T00:00:00Z"))))
        .isInstanceOf(AttestationException.class)
        .satisfies(t -> assertThat(((AttestationException) t).reason()).isEqualTo(FailureReason.BAD_SIGNATURE));
    // Genoa's VCEK without its ASK: missing collateral, named.
    List<java.security.cert.X509Certificate> onlyLeaf = genoa.certificates().stream()
        .filter(c -> c.getSubjectX500Principal().getName().contains("SEV-VCEK")).toList();
    AttestationException e = assertReason(SharedFixtures.evidence(root.resolve("snp/trustee-genoa")),
        new Collateral(onlyLeaf, List.of(), List.of(), List.of()),
        EvidencePolicy.at(Instant.parse("2026-01-01T00:00:00Z")), FailureReason.MISSING_COLLATERAL);
    assertThat(e.getMessage()).contains("ASK");
  }

  @Test
  void notYetValidAndTruncatedAreRefused() {
    Path dir = SharedFixtures.require().resolve("snp/trustee-vlek-aws");
    byte[] evidence = SharedFixtures.evidence(dir);
    assertReason(evidence, SharedFixtures.collateral(dir), EvidencePolicy.at(Instant.parse("2024-01-01T00:00:00Z")),
        FailureReason.NOT_YET_VALID);
    assertReason(java.util.Arrays.copyOf(evidence, 1000), SharedFixtures.collateral(dir),
        EvidencePolicy.at(Instant.parse("2025-06-01T00:00:00Z")), FailureReason.MALFORMED);
  }

  @Test
  void migrationAgentPolicyIsRefusedEvenWhenSigned() throws Exception {
    // A report whose policy allows a migration agent cannot come from the fixtures (they are signed);
    // flipping bit 18 breaks the signature first, so the signature check must come first and the
    // policy check after it: both refuse.
    Path dir = SharedFixtures.require().resolve("snp/trustee-genoa");
    byte[] bad = SharedFixtures.evidence(dir);
    bad[0x08 + 2] |= 0x04;
    assertReason(bad, SharedFixtures.collateral(dir), EvidencePolicy.at(Instant.parse("2026-01-01T00:00:00Z")),
        FailureReason.BAD_SIGNATURE);
  }

  private AttestationException assertReason(byte[] evidence, Collateral collateral, EvidencePolicy policy,
      FailureReason reason) {
    try {
      verifier.verify(evidence, collateral, policy);
    } catch (AttestationException e) {
      assertThat(e.reason()).as(e.getMessage()).isEqualTo(reason);
      return e;
    }
    throw new AssertionError("accepted, expected " + reason);
  }

  @SuppressWarnings("unused")
  private static KeyPair p384() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new java.security.spec.ECGenParameterSpec("secp384r1"));
    return g.generateKeyPair();
  }
}

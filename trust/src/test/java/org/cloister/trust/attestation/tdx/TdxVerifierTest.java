package org.cloister.trust.attestation.tdx;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
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

/** The real TDX quotes of ../shared/fixtures/tdx (v4 and v5; UpToDate, OutOfDate, no matching TCB level). */
class TdxVerifierTest {
  private static final Set<FailureReason> EXPIRY = Set.of(FailureReason.EXPIRED, FailureReason.EXPIRED_COLLATERAL);
  private final TdxVerifier verifier = new TdxVerifier();

  static Stream<Path> cases() {
    return SharedFixtures.cases("tdx").stream();
  }

  static Stream<Path> accepted() {
    return cases().filter(d -> "accept".equals(SharedFixtures.caseJson(d).get("expect").asText()));
  }

  private static EvidencePolicy policy(JsonNode c) {
    return EvidencePolicy.at(Instant.ofEpochSecond(c.get("verify_at").asLong()))
        .withDebugAllowed(c.get("debug").asBoolean())
        .withOutOfDateTcbAccepted("out-of-date".equals(c.get("accept_tcb").asText()));
  }

  @Test
  void fixturesArePresent() {
    SharedFixtures.require();
    assertThat(cases()).hasSizeGreaterThanOrEqualTo(4);
  }

  @Test
  void pinnedRootIsIntelSgxRootCa() {
    X509Certificate root = IntelSgxRoot.certificate();
    assertThat(root.getSubjectX500Principal().getName()).contains("CN=Intel SGX Root CA");
  }

  @ParameterizedTest
  @MethodSource("accepted")
  void realQuoteVerifiesWithStatusAndMeasurements(Path dir) throws Exception {
    JsonNode c = SharedFixtures.caseJson(dir);
    VerifiedEvidence v = verifier.verify(SharedFixtures.evidence(dir), SharedFixtures.collateral(dir), policy(c));
    assertThat(v.platform()).isEqualTo(TeePlatform.TDX);
    assertThat(v.tcb().orElseThrow().status()).isEqualTo(c.get("tcb_status").asText());
    c.get("fields").fields().forEachRemaining(f -> {
      if (f.getKey().equals("report_data")) {
        assertThat(HexFormat.of().formatHex(v.reportData().orElseThrow())).isEqualTo(f.getValue().asText());
      } else {
        assertThat(v.measurements().get(f.getKey())).as(f.getKey()).isEqualTo(f.getValue().asText());
      }
    });
    assertThat(v.debug()).isEqualTo(c.get("debug").asBoolean());
  }

  @ParameterizedTest
  @MethodSource("accepted")
  void everyNegativeOfTheCaseIsRefused(Path dir) {
    JsonNode c = SharedFixtures.caseJson(dir);
    byte[] evidence = SharedFixtures.evidence(dir);
    Collateral collateral = SharedFixtures.collateral(dir);
    for (JsonNode n : c.get("negatives")) {
      switch (n.get("kind").asText()) {
        case "flip" -> {
          byte[] bad = evidence.clone();
          bad[n.get("offset").asInt()] ^= 0x01;
          assertThat(refusal(bad, collateral, policy(c)).reason()).as(n.toString()).isEqualTo(FailureReason.BAD_SIGNATURE);
        }
        case "at" -> assertThat(refusal(evidence, collateral, EvidencePolicy.at(Instant.ofEpochSecond(n.get("at").asLong()))
            .withOutOfDateTcbAccepted(true)).reason()).as(n.toString()).isIn(EXPIRY);
        case "expect" -> assertThat(refusal(evidence, collateral,
            policy(c).withExpected(n.get("name").asText(), n.get("hex").asText())).reason())
            .isEqualTo(FailureReason.MEASUREMENT_MISMATCH);
        default -> throw new AssertionError("unknown negative " + n);
      }
    }
  }

  @Test
  void outOfDateTcbRefusedUnlessAcceptedAndAdvisoriesNamed() throws Exception {
    Path dir = SharedFixtures.require().resolve("tdx/dcaprs-outofdate");
    Instant at = Instant.ofEpochSecond(SharedFixtures.caseJson(dir).get("verify_at").asLong());
    AttestationException e = refusal(SharedFixtures.evidence(dir), SharedFixtures.collateral(dir), EvidencePolicy.at(at));
    assertThat(e.reason()).isEqualTo(FailureReason.TCB_NOT_ACCEPTED);
    assertThat(e.getMessage()).contains("OutOfDate").contains("INTEL-SA-");
    VerifiedEvidence v = verifier.verify(SharedFixtures.evidence(dir), SharedFixtures.collateral(dir),
        EvidencePolicy.at(at).withOutOfDateTcbAccepted(true));
    assertThat(v.tcb().orElseThrow().advisoryIds()).isNotEmpty().allMatch(s -> s.startsWith("INTEL-SA-"));
  }

  @Test
  void noMatchingTcbLevelIsRefusedEvenWhenOutOfDateIsAccepted() {
    Path dir = SharedFixtures.require().resolve("tdx/gotdxguest-spr-notcb");
    JsonNode c = SharedFixtures.caseJson(dir);
    assertThat(c.get("expect").asText()).isEqualTo("reject");
    AttestationException e = refusal(SharedFixtures.evidence(dir), SharedFixtures.collateral(dir), policy(c));
    assertThat(e.reason()).as(e.getMessage()).isEqualTo(FailureReason.NO_MATCHING_TCB_LEVEL);
  }

  @Test
  void tcbInfoAlteredOrReserialisedIsRefused() throws Exception {
    Path dir = SharedFixtures.require().resolve("tdx/dcap-qvl-uptodate");
    Collateral real = SharedFixtures.collateral(dir);
    EvidencePolicy p = policy(SharedFixtures.caseJson(dir));
    String text = real.tcbInfos().get(0).text();
    // Upgrading the first level's status would be a forgery; so is re-serialising (whitespace) the signed object.
    for (String forged : List.of(text.replace("\"pcesvn\":11", "\"pcesvn\":10"),
        text.replaceFirst("\\{\"id\"", "{ \"id\""))) {
      assertThat(forged).isNotEqualTo(text);
      Collateral c = new Collateral(real.certificates(), real.crls(),
          List.of(new Collateral.RawJson("forged", forged)), real.qeIdentities());
      assertThat(refusal(SharedFixtures.evidence(dir), c, p).reason()).isEqualTo(FailureReason.BAD_SIGNATURE);
    }
  }

  @Test
  void missingCrlsOrTcbInfoAreMissingCollateral() {
    Path dir = SharedFixtures.require().resolve("tdx/dcap-qvl-uptodate");
    Collateral real = SharedFixtures.collateral(dir);
    EvidencePolicy p = policy(SharedFixtures.caseJson(dir));
    AttestationException noCrl = refusal(SharedFixtures.evidence(dir),
        new Collateral(real.certificates(), List.of(), real.tcbInfos(), real.qeIdentities()), p);
    assertThat(noCrl.reason()).isEqualTo(FailureReason.MISSING_COLLATERAL);
    assertThat(noCrl.getMessage()).contains("CRL");
    AttestationException noTcb = refusal(SharedFixtures.evidence(dir),
        new Collateral(real.certificates(), real.crls(), List.of(), real.qeIdentities()), p);
    assertThat(noTcb.reason()).isEqualTo(FailureReason.MISSING_COLLATERAL);
    // Collateral of another platform (FMSPC) does not rate this one.
    Collateral other = SharedFixtures.collateral(SharedFixtures.require().resolve("tdx/gotdxguest-v5"));
    assertThat(refusal(SharedFixtures.evidence(dir),
        new Collateral(real.certificates(), real.crls(), other.tcbInfos(), real.qeIdentities()), p).reason())
        .isEqualTo(FailureReason.MISSING_COLLATERAL);
  }

  @Test
  void foreignRootInCollateralIsRefused() {
    Path dir = SharedFixtures.require().resolve("tdx/gotdxguest-v5");
    Collateral real = SharedFixtures.collateral(dir);
    CertificateAuthority foreign = CertificateAuthority.createRoot("Intel SGX Root CA", EcCurve.P256,
        Instant.parse("2020-01-01T00:00:00Z"), Instant.parse("2040-01-01T00:00:00Z"), new SecureRandom());
    List<X509Certificate> certs = new ArrayList<>(real.certificates());
    certs.add(foreign.certificate());
    AttestationException e = refusal(SharedFixtures.evidence(dir),
        new Collateral(certs, real.crls(), real.tcbInfos(), real.qeIdentities()), policy(SharedFixtures.caseJson(dir)));
    assertThat(e.reason()).isEqualTo(FailureReason.UNTRUSTED_ROOT);
  }

  @Test
  void verifierAnchoredElsewhereRefusesRealQuotes() {
    Path dir = SharedFixtures.require().resolve("tdx/gotdxguest-v5");
    CertificateAuthority other = CertificateAuthority.createRoot("Intel SGX Root CA", EcCurve.P256,
        Instant.parse("2020-01-01T00:00:00Z"), Instant.parse("2040-01-01T00:00:00Z"), new SecureRandom());
    TdxVerifier elsewhere = new TdxVerifier(other.certificate());
    assertThat(refusal(elsewhere, SharedFixtures.evidence(dir), SharedFixtures.collateral(dir),
        policy(SharedFixtures.caseJson(dir))).reason()).isEqualTo(FailureReason.UNTRUSTED_ROOT);
  }

  @Test
  void truncatedAndForeignBytesAreMalformed() {
    Path dir = SharedFixtures.require().resolve("tdx/gotdxguest-v5");
    byte[] q = SharedFixtures.evidence(dir);
    EvidencePolicy p = policy(SharedFixtures.caseJson(dir));
    for (int len : new int[] {0, 47, 700, 1000, 1500}) {
      assertThat(refusal(java.util.Arrays.copyOf(q, len), SharedFixtures.collateral(dir), p).reason())
          .as("truncated to " + len).isEqualTo(FailureReason.MALFORMED);
    }
    assertThat(refusal("not a quote".getBytes(StandardCharsets.US_ASCII), SharedFixtures.collateral(dir), p).reason())
        .isEqualTo(FailureReason.MALFORMED);
    // A huge signature-data length must not be trusted.
    byte[] big = q.clone();
    int sigLenAt = 48 + 6 + 648;
    big[sigLenAt + 3] = 0x7f;
    assertThat(refusal(big, SharedFixtures.collateral(dir), p).reason()).isEqualTo(FailureReason.MALFORMED);
  }

  @Test
  void trailingPaddingIsIgnoredButNotTrusted() throws Exception {
    Path dir = SharedFixtures.require().resolve("tdx/dcap-qvl-uptodate");
    byte[] q = SharedFixtures.evidence(dir);
    byte[] padded = java.util.Arrays.copyOf(q, q.length + 100);
    padded[padded.length - 1] = 0x55;
    EvidencePolicy p = policy(SharedFixtures.caseJson(dir));
    assertThat(verifier.verify(padded, SharedFixtures.collateral(dir), p).measurements().get("mr_td"))
        .isEqualTo(SharedFixtures.caseJson(dir).get("fields").get("mr_td").asText());
  }

  private AttestationException refusal(byte[] evidence, Collateral collateral, EvidencePolicy policy) {
    return refusal(verifier, evidence, collateral, policy);
  }

  private static AttestationException refusal(TdxVerifier v, byte[] evidence, Collateral collateral,
      EvidencePolicy policy) {
    try {
      v.verify(evidence, collateral, policy);
    } catch (AttestationException e) {
      return e;
    }
    throw new AssertionError("accepted, expected a refusal");
  }
}

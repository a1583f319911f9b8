package org.cloister.trust.attestation.snp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.BoundEvidenceVerifier;
import org.cloister.trust.attestation.BoundEvidenceVerifier.BoundEnclave;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.ReportDataBinding;
import org.cloister.trust.attestation.TeePlatform;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The runtime binding on SEV-SNP: a party accepts an enclave's HPKE and signing keys only when a report signed by
 * the (test double of the) AMD hierarchy carries, as report data, the binding of the party's own nonce and those
 * keys, and the pinned launch measurement.
 */
class BoundSnpEvidenceTest {
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");
  private static final byte[] MEASUREMENT = filled(48, 0x5a);
  private static SimulatedSnpPlatform amd;
  private static byte[] hpke;
  private static byte[] signingSpki;
  private static java.security.PublicKey signing;
  /** The secure aggregator's user data: its signing key (EnclaveSignatures.userData). */
  private static byte[] userData;
  private static byte[] nonce;

  @BeforeAll
  static void setUp() throws Exception {
    amd = new SimulatedSnpPlatform(19);
    hpke = filled(32, 0x11);
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom(new byte[] {3}));
    signing = g.generateKeyPair().getPublic();
    signingSpki = signing.getEncoded();
    userData = org.cloister.trust.attestation.EnclaveSignatures.userData(signing);
    nonce = filled(32, 0x42);
  }

  private static byte[] filled(int n, int v) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) v);
    return b;
  }

  private static BoundEvidenceVerifier verifier(MeasurementPins pins) {
    return new BoundEvidenceVerifier(List.of(org.cloister.trust.attestation.snp.SnpVerifier.development(amd.ark())), pins, org.cloister.trust.attestation.Collateral.ofCertificates(amd.chain()));
  }

  private static MeasurementPins pins() {
    return new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", MEASUREMENT), false);
  }

  private static byte[] boundReport() throws Exception {
    return amd.report(ReportDataBinding.reportData(nonce, hpke, userData), MEASUREMENT, SimulatedSnpPlatform.POLICY);
  }

  @Test
  void keysBoundByTheReportAreAccepted() throws Exception {
    BoundEnclave e = verifier(pins()).verify("sev-snp", boundReport(), List.of(), hpke, userData, nonce, AT);
    assertThat(e.hpkePublicKey()).isEqualTo(hpke);
    assertThat(e.signingKey().getEncoded()).isEqualTo(signingSpki);
    assertThat(e.evidence().measurements().get("measurement")).isEqualTo(HexFormat.of().formatHex(MEASUREMENT));
  }

  @Test
  void theReportDataIsTheDomainSeparatedDigest() {
    byte[] rd = ReportDataBinding.reportData(nonce, hpke, userData);
    assertThat(ReportDataBinding.reportData(nonce, hpke, signing)).isEqualTo(rd);
    assertThat(rd).hasSize(64);
    // moving a byte from the nonce into the key changes the digest (length prefixes)
    byte[] shorter = Arrays.copyOf(nonce, 31);
    byte[] longer = new byte[33];
    longer[0] = nonce[31];
    System.arraycopy(hpke, 0, longer, 1, 32);
    assertThat(ReportDataBinding.reportData(shorter, longer, userData)).isNotEqualTo(rd);
  }

  @Test
  void aSubstitutedHpkeKeyIsRefused() throws Exception {
    byte[] other = filled(32, 0x12);
    assertThat(refusal(pins(), boundReport(), other, userData, nonce).reason()).isEqualTo(FailureReason.NONCE_MISMATCH);
  }

  @Test
  void aSubstitutedSigningKeyIsRefused() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom(new byte[] {4}));
    byte[] other = org.cloister.trust.attestation.EnclaveSignatures.userData(g.generateKeyPair().getPublic());
    assertThat(refusal(pins(), boundReport(), hpke, other, nonce).reason()).isEqualTo(FailureReason.NONCE_MISMATCH);
  }

  @Test
  void aReplayedReportFailsOnTheFreshNonce() throws Exception {
    byte[] fresh = filled(32, 0x43);
    AttestationException e = refusal(pins(), boundReport(), hpke, userData, fresh);
    assertThat(e.reason()).isEqualTo(FailureReason.NONCE_MISMATCH);
    assertThat(e.getMessage()).contains("nonce");
  }

  @Test
  void anotherMeasurementIsRefused() throws Exception {
    MeasurementPins other = new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", filled(48, 0x5b)), false);
    assertThat(refusal(other, boundReport(), hpke, userData, nonce).reason())
        .isEqualTo(FailureReason.MEASUREMENT_MISMATCH);
  }

  @Test
  void evidenceOfAnotherPlatformThanPinnedIsRefused() throws Exception {
    AttestationException e = assertThrows(() -> verifier(pins()).verify("tdx", boundReport(), List.of(), hpke,
        userData, nonce, AT));
    assertThat(e.reason()).isEqualTo(FailureReason.POLICY_VIOLATION);
    assertThat(e.getMessage()).contains("tdx").contains("sev-snp");
  }

  @Test
  void aDebugGuestIsRefused() throws Exception {
    byte[] debug = amd.report(ReportDataBinding.reportData(nonce, hpke, userData), MEASUREMENT,
        SimulatedSnpPlatform.POLICY | (1L << 19));
    assertThat(refusal(pins(), debug, hpke, userData, nonce).reason()).isEqualTo(FailureReason.DEBUG_ENCLAVE);
  }

  @Test
  void expiredCollateralInThePartysFolderIsNamed() throws Exception {
    // the VCEK of the double is valid until 2031
    AttestationException e = assertThrows(() -> verifier(pins()).verify("sev-snp", boundReport(), List.of(), hpke,
        userData, nonce, Instant.parse("2031-06-01T00:00:00Z")));
    assertThat(e.reason()).isEqualTo(FailureReason.EXPIRED);
    assertThat(e.getMessage()).contains("expired");
  }

  @Test
  void theVcekMayComeFromTheEnclaveButStillChainsToThePinnedArk() throws Exception {
    BoundEvidenceVerifier noFolder = new BoundEvidenceVerifier(List.of(org.cloister.trust.attestation.snp.SnpVerifier.development(amd.ark())), pins(), Collateral.empty());
    assertThat(noFolder.verify("sev-snp", boundReport(), amd.chainDer(), hpke,
        userData, nonce, AT).hpkePublicKey()).isEqualTo(hpke);
    SimulatedSnpPlatform foreign = new SimulatedSnpPlatform(20);
    AttestationException e = assertThrows(() -> noFolder.verify("sev-snp", boundReport(),
        foreign.chainDer(), hpke, userData, nonce, AT));
    assertThat(e.reason()).isIn(FailureReason.BAD_SIGNATURE, FailureReason.UNTRUSTED_ROOT);
  }

  @Test
  void pinsFailClosed() {
    assertThatThrownBy(() -> new MeasurementPins(TeePlatform.SEV_SNP, Map.of(), false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("measurement");
    assertThatThrownBy(() -> new MeasurementPins(TeePlatform.TDX, Map.of("mr_td", filled(48, 1)), false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rtmr0");
    assertThatThrownBy(() -> new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", filled(32, 1)), false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("48 bytes");
    assertThatThrownBy(() -> new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", MEASUREMENT,
        "pcr0", filled(48, 1)), false)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pcr0");
  }

  private static AttestationException refusal(MeasurementPins pins, byte[] report, byte[] hpkeKey, byte[] spki,
      byte[] n) {
    return assertThrows(() -> verifier(pins).verify("sev-snp", report, List.of(), hpkeKey, spki, n, AT));
  }

  interface Call {
    void run() throws Exception;
  }

  private static AttestationException assertThrows(Call c) {
    try {
      c.run();
    } catch (AttestationException e) {
      return e;
    } catch (Exception e) {
      throw new AssertionError("unexpected " + e, e);
    }
    throw new AssertionError("accepted");
  }

  @Test
  void measurementsFileRoundTripsAndFailsClosed(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path f = dir.resolve("measurements.json");
    java.nio.file.Files.writeString(f, pins().toJson());
    MeasurementPins back = MeasurementPins.read(f);
    assertThat(back.platform()).isEqualTo(TeePlatform.SEV_SNP);
    assertThat(back.values().get("measurement")).isEqualTo(MEASUREMENT);
    assertThat(back.acceptOutOfDateTcb()).isFalse();
    java.nio.file.Files.writeString(f, pins().toJson().replace("up-to-date", "whatever"));
    assertThatThrownBy(() -> MeasurementPins.read(f)).hasMessageContaining("accept_tcb");
    java.nio.file.Files.writeString(f, "{\"format\":\"cloister-measurements/v1\",\"platform\":\"tdx\","
        + "\"measurements\":{\"mr_td\":\"" + HexFormat.of().formatHex(MEASUREMENT) + "\"}}");
    assertThatThrownBy(() -> MeasurementPins.read(f)).hasMessageContaining("rtmr0");
  }
}

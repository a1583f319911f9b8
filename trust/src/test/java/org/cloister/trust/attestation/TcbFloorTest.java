package org.cloister.trust.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;
import org.cloister.trust.attestation.snp.SnpVerifier;
import org.cloister.trust.attestation.tdx.TdxVerifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Platform minimums a party pins beyond the vendor's rating: SEV-SNP VMPL and per-component TCB SVNs, the TDX
 * tcbEvaluationDataNumber. Real reports from ../shared/fixtures and the SEV-SNP test double.
 */
class TcbFloorTest {
  static final Instant NOW = Instant.now();

  static EvidencePolicy.TcbFloor snp(int maxVmpl, Map<String, Integer> min) {
    return new EvidencePolicy.TcbFloor(maxVmpl, min, -1);
  }

  static EvidencePolicy at(JsonNode c) {
    return EvidencePolicy.at(Instant.ofEpochSecond(c.get("verify_at").asLong()))
        .withDebugAllowed(c.get("debug").asBoolean());
  }

  @Test
  void aReportFromAVmplAboveThePinnedMaximumIsRefused() throws Exception {
    Path aws = SharedFixtures.require().resolve("snp").resolve("trustee-vlek-aws");
    JsonNode c = SharedFixtures.caseJson(aws);
    byte[] report = SharedFixtures.evidence(aws);
    Collateral collateral = SharedFixtures.collateral(aws);
    SnpVerifier v = new SnpVerifier();
    // the real AWS report comes from VMPL 1: accepted without a floor (attest verify), refused at VMPL 0 only
    assertThat(v.verify(report, collateral, at(c)).platform()).isEqualTo(TeePlatform.SEV_SNP);
    assertThatThrownBy(() -> v.verify(report, collateral, at(c).withTcbFloor(snp(0, Map.of()))))
        .isInstanceOfSatisfying(AttestationException.class, e -> {
          assertThat(e.reason()).isEqualTo(FailureReason.POLICY_VIOLATION);
          assertThat(e).hasMessageContaining("requested at VMPL 1; the policy admits at most VMPL 0");
        });
    assertThat(v.verify(report, collateral, at(c).withTcbFloor(snp(1, Map.of()))).platform())
        .isEqualTo(TeePlatform.SEV_SNP);
    // a party's pins default to VMPL 0
    assertThat(new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", new byte[48]), false).tcbFloor().maxVmpl())
        .isZero();
  }

  @Test
  void aTcbComponentBelowThePinnedMinimumIsRefused() throws Exception {
    SimulatedSnpPlatform snp = new SimulatedSnpPlatform(9);
    // the double's reported TCB (Turin layout): fmc 1, bootloader 2, tee 3, snp 4, microcode 0x48
    byte[] report = snp.report(new byte[64], new byte[48], SimulatedSnpPlatform.POLICY);
    EvidencePolicy at = EvidencePolicy.at(NOW);
    assertThat(org.cloister.trust.attestation.snp.SnpVerifier.development(snp.ark()).verify(report, org.cloister.trust.attestation.Collateral.ofCertificates(snp.chain()), at.withTcbFloor(snp(0, Map.of("snp", 4,
        "microcode", 0x48, "fmc", 1)))).platform()).isEqualTo(TeePlatform.SEV_SNP);
    assertThatThrownBy(() -> org.cloister.trust.attestation.snp.SnpVerifier.development(snp.ark()).verify(report, org.cloister.trust.attestation.Collateral.ofCertificates(snp.chain()), at.withTcbFloor(snp(0, Map.of("snp", 5)))))
        .isInstanceOfSatisfying(AttestationException.class, e -> {
          assertThat(e.reason()).isEqualTo(FailureReason.TCB_NOT_ACCEPTED);
          assertThat(e).hasMessageContaining("snp SVN is 4, below the policy's minimum 5");
        });
    assertThatThrownBy(() -> snp(0, Map.of("ucode", 1))).hasMessageContaining("no component 'ucode'");
  }

  @Test
  void tdxCollateralOfAnOlderTcbEvaluationThanPinnedIsRefused() throws Exception {
    Path dir = SharedFixtures.require().resolve("tdx").resolve("dcap-qvl-uptodate");
    JsonNode c = SharedFixtures.caseJson(dir);
    byte[] quote = SharedFixtures.evidence(dir);
    Collateral collateral = SharedFixtures.collateral(dir);
    TdxVerifier v = new TdxVerifier();
    EvidencePolicy at = EvidencePolicy.at(Instant.ofEpochSecond(c.get("verify_at").asLong()));
    assertThat(v.verify(quote, collateral, at.withTcbFloor(new EvidencePolicy.TcbFloor(-1, Map.of(), 17))).tcb())
        .isPresent();
    assertThatThrownBy(() -> v.verify(quote, collateral, at.withTcbFloor(new EvidencePolicy.TcbFloor(-1, Map.of(), 18))))
        .isInstanceOfSatisfying(AttestationException.class, e -> {
          assertThat(e.reason()).isEqualTo(FailureReason.TCB_NOT_ACCEPTED);
          assertThat(e).hasMessageContaining("tcbEvaluationDataNumber 17, below the policy's minimum 18");
        });
  }

  @Test
  void measurementFilesCarryTheFloorAndRefuseItOnTheWrongPlatform(@TempDir Path tmp) throws Exception {
    MeasurementPins snp = new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", new byte[48]), false,
        snp(1, Map.of("snp", 8, "microcode", 115)));
    Files.writeString(tmp.resolve("snp.json"), snp.toJson());
    MeasurementPins back = MeasurementPins.read(tmp.resolve("snp.json"));
    assertThat(back.tcbFloor()).isEqualTo(snp.tcbFloor());
    Files.writeString(tmp.resolve("tdx.json"), "{\"format\":\"cloister-measurements/v1\",\"platform\":\"tdx\","
        + "\"measurements\":{\"mr_td\":\"" + "00".repeat(48) + "\",\"rtmr0\":\"" + "00".repeat(48) + "\",\"rtmr1\":\""
        + "00".repeat(48) + "\",\"rtmr2\":\"" + "00".repeat(48) + "\",\"rtmr3\":\"" + "00".repeat(48) + "\"},"
        + "\"min_tcb_evaluation_data_number\":17}");
    assertThat(MeasurementPins.read(tmp.resolve("tdx.json")).tcbFloor().minTcbEvaluationDataNumber()).isEqualTo(17);
    Files.writeString(tmp.resolve("bad.json"), Files.readString(tmp.resolve("tdx.json"))
        .replace("\"min_tcb_evaluation_data_number\":17", "\"max_vmpl\":0"));
    assertThatThrownBy(() -> MeasurementPins.read(tmp.resolve("bad.json")))
        .hasMessageContaining("max_vmpl and min_tcb apply to sev-snp, not tdx");
  }
}

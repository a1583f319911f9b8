package org.cloister.enclave.runtime.tee;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.cloister.trust.attestation.BoundEvidenceVerifier;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EnclaveSignatures;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.ReportDataBinding;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Producing SEV-SNP evidence through configfs-tsm, against {@link FakeConfigfsKernel} (no SEV-SNP CPU here). */
class ConfigfsTsmTest {
  private static final byte[] MEASUREMENT = new byte[48];
  private static SimulatedSnpPlatform snp;

  @BeforeAll
  static void hardware() throws Exception {
    snp = new SimulatedSnpPlatform(5);
    Arrays.fill(MEASUREMENT, (byte) 0x33);
  }

  @TempDir
  Path tree;

  @Test
  void aReportOverTheBindingVerifiesAtTheSiteWithTheCertificatesFromAuxblob() throws Exception {
    FakeConfigfsKernel kernel = new FakeConfigfsKernel(snp, MEASUREMENT);
    ConfigfsTsm tsm = new ConfigfsTsm(tree, kernel, new SecureRandom(new byte[] {1}));
    byte[] nonce = new byte[32];
    Arrays.fill(nonce, (byte) 7);
    byte[] hpke = new byte[32];
    Arrays.fill(hpke, (byte) 9);
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom(new byte[] {2}));
    byte[] userData = EnclaveSignatures.userData(g.generateKeyPair().getPublic());

    ConfigfsTsm.Report r = tsm.report(ReportDataBinding.reportData(nonce, hpke, userData));
    assertThat(r.platform()).isEqualTo("sev-snp");
    assertThat(r.certificates()).hasSize(2);
    try (var s = Files.list(tree)) {
      assertThat(s.toList()).as("the entry is removed").isEmpty();
    }
    BoundEvidenceVerifier site = new BoundEvidenceVerifier(List.of(org.cloister.trust.attestation.snp.SnpVerifier.development(snp.ark())),
        new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", MEASUREMENT), false), Collateral.empty());
    assertThat(site.verify(r.platform(), r.evidence(), r.certificates(), hpke, userData, nonce,
        Instant.parse("2026-06-01T00:00:00Z")).hpkePublicKey()).isEqualTo(hpke);
  }

  @Test
  void failuresNameTheStep() throws Exception {
    FakeConfigfsKernel kernel = new FakeConfigfsKernel(snp, MEASUREMENT);
    byte[] rd = new byte[64];
    assertThatThrownBy(() -> new ConfigfsTsm(tree.resolve("absent"), kernel, new SecureRandom()).report(rd))
        .hasMessageContaining("cannot create a configfs-tsm report entry").hasMessageContaining("confidential VM");
    ConfigfsTsm tsm = new ConfigfsTsm(tree, kernel, new SecureRandom());
    assertThatThrownBy(() -> tsm.report(new byte[32])).hasMessageContaining("64 bytes");
    kernel.racing = true;
    assertThatThrownBy(() -> tsm.report(rd)).hasMessageContaining("generation changed");
    kernel.racing = false;
    kernel.provider = "arm_cca_guest";
    assertThatThrownBy(() -> tsm.report(rd)).hasMessageContaining("'arm_cca_guest'");
  }

  @Test
  void aCertificateTablePointingOutsideIsRefused() {
    byte[] t = FakeConfigfsKernel.table(List.of(new byte[] {1, 2, 3}));
    t[20] = 99; // length beyond the table
    assertThatThrownBy(() -> ConfigfsTsm.snpCertificateTable(t)).hasMessageContaining("outside the table");
    byte[] unterminated = new byte[30];
    unterminated[0] = 1;
    unterminated[16] = 24; // one certificate at 24..29, and no all-zero entry after it
    unterminated[20] = 6;
    assertThatThrownBy(() -> ConfigfsTsm.snpCertificateTable(unterminated)).hasMessageContaining("not terminated");
  }
}

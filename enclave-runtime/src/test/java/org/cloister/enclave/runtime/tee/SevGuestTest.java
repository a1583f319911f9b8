package org.cloister.enclave.runtime.tee;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.cloister.enclave.runtime.AttestationPlatformsAccess;
import org.cloister.enclave.runtime.EvidenceSource;
import org.cloister.protocol.EvidenceWire;
import org.cloister.trust.attestation.BoundEvidenceVerifier;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SEV-SNP reports through {@code /dev/sev-guest} (kernels before configfs-tsm): our structures and ioctl calls
 * against {@link FakeSevGuestDevice}, the test double of the device only; and the platform choice through the
 * real C library on a machine without the device.
 */
class SevGuestTest {
  private static final Instant AT = Instant.parse("2026-06-01T00:00:00Z");
  private static SimulatedSnpPlatform snp;
  private static final byte[] MEASUREMENT = new byte[48];

  @TempDir
  Path dir;

  @BeforeAll
  static void hardware() throws Exception {
    snp = new SimulatedSnpPlatform(21);
    Arrays.fill(MEASUREMENT, (byte) 0x66);
  }

  @Test
  void anExtendedReportCarriesTheHostsCertificatesAndVerifiesBindingNonceAndKey() throws Exception {
    FakeSevGuestDevice device = new FakeSevGuestDevice(snp, MEASUREMENT);
    EvidenceSource source = EvidenceSource.confidentialVm(new SevGuest(() -> device));
    byte[] nonce = new byte[32];
    nonce[0] = 3;
    byte[] hpke = new byte[32];
    hpke[0] = 4;
    EvidenceWire.Received r = EvidenceWire.received(source.evidence(nonce, new byte[] {1, 2}, hpke), false, "vm");
    assertThat(r.platform()).isEqualTo("sev-snp");
    assertThat(device.lastVmpl).isZero();
    assertThat(device.closed).isTrue();
    // the verifier needs no collateral folder: the VCEK and ASK came from the host's certificate table
    BoundEvidenceVerifier v = new BoundEvidenceVerifier(List.of(org.cloister.trust.attestation.snp.SnpVerifier.development(snp.ark())),
        new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", MEASUREMENT), false), Collateral.empty());
    assertThat(v.verify(r.platform(), r.evidence(), r.collateral(), r.hpkePublicKey(), r.userData(), nonce, AT)
        .userData()).containsExactly(1, 2);
  }

  @Test
  void aCertificateBufferTooSmallIsGrownToWhatTheDriverAsksForOnce() throws Exception {
    FakeSevGuestDevice device = new FakeSevGuestDevice(snp, MEASUREMENT);
    List<byte[]> many = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      many.addAll(snp.chainDer()); // > 16 KiB of certificates
    }
    device.certificates = many;
    ConfigfsTsm.Report r = new SevGuest(() -> device).report(new byte[64]);
    assertThat(device.requests).isEqualTo(2);
    assertThat(r.certificates()).hasSize(60);
  }

  @Test
  void aHostWithoutCertificatesGivesAReportAloneAndTheFirmwaresRefusalIsNamed() throws Exception {
    FakeSevGuestDevice device = new FakeSevGuestDevice(snp, MEASUREMENT);
    device.certificates = List.of();
    assertThat(new SevGuest(() -> device).report(new byte[64]).certificates()).isEmpty();
    device.firmwareStatus = 0x16;
    assertThatThrownBy(() -> new SevGuest(() -> device).report(new byte[64]))
        .hasMessageContaining("firmware refused").hasMessageContaining("0x16");
  }

  @Test
  void withoutConfigfsTsmTheSevGuestDeviceIsUsedAndWithNeitherThePlatformIsRefusedNamingBoth() throws Exception {
    Path noTsm = dir.resolve("no-tsm");
    assertThatThrownBy(() -> AttestationPlatformsAccess.open("sev-snp", noTsm, dir.resolve("no-sev-guest"),
        dir.resolve("no-nsm"), new PrintStream(new ByteArrayOutputStream())))
        .hasMessageContaining("no configfs-tsm").hasMessageContaining("no-sev-guest");
    // a file that is not the device: the real C library opens it and its ioctl fails (ENOTTY), named
    Path notADevice = Files.write(dir.resolve("sev-guest"), new byte[0]);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    EvidenceSource source = AttestationPlatformsAccess.open("sev-snp", noTsm, notADevice, dir.resolve("no-nsm"),
        new PrintStream(err, true));
    assertThat(err.toString()).contains("SEV-SNP reports from " + notADevice);
    assertThatThrownBy(() -> source.evidence(new byte[32], null, new byte[32]))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("SNP_GET_EXT_REPORT")
        .hasMessageContaining("errno 25");
  }
}

package org.cloister.enclave.runtime.tee;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import org.cloister.enclave.runtime.EvidenceSource;
import org.cloister.protocol.EvidenceWire;
import org.cloister.protocol.v1.Evidence;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.BoundEvidenceVerifier;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The enclave's evidence on a (fake-kernel, simulated-hardware) SEV-SNP guest, as a verifier receives it. */
class EvidenceSourceTest {
  @TempDir
  Path tree;

  @Test
  void theEnvelopeCarriesTheReportTheKeyAndUserDataItBinds() throws Exception {
    SimulatedSnpPlatform snp = new SimulatedSnpPlatform(8);
    byte[] measurement = new byte[48];
    Arrays.fill(measurement, (byte) 0x44);
    EvidenceSource source = EvidenceSource.configfsTsm(new ConfigfsTsm(tree, new FakeConfigfsKernel(snp, measurement),
        new SecureRandom()));
    byte[] nonce = new byte[32];
    nonce[0] = 1;
    byte[] hpke = new byte[32];
    hpke[0] = 2;
    Evidence e = source.evidence(nonce, null, hpke); // as towards the key broker: no user data
    EvidenceWire.Received r = EvidenceWire.received(e, false, "the enclave");
    assertThat(r.platform()).isEqualTo("sev-snp");
    BoundEvidenceVerifier v = new BoundEvidenceVerifier(java.util.List.of(org.cloister.trust.attestation.snp.SnpVerifier.development(snp.ark())),
        new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", measurement), false), Collateral.empty());
    Instant at = Instant.parse("2026-06-01T00:00:00Z");
    assertThat(v.verify(r.platform(), r.evidence(), r.collateral(), r.hpkePublicKey(), r.userData(), nonce, at)
        .userData()).isEmpty();
    // a host adding user data the report does not bind is caught
    AttestationException ex = null;
    try {
      v.verify(r.platform(), r.evidence(), r.collateral(), r.hpkePublicKey(), new byte[] {1}, nonce, at);
    } catch (AttestationException x) {
      ex = x;
    }
    assertThat(ex).isNotNull();
    assertThat(ex.reason()).isEqualTo(FailureReason.NONCE_MISMATCH);
  }

  @Test
  void aMachineWithoutConfigfsTsmIsNamed() {
    assertThatThrownBy(() -> org.cloister.enclave.runtime.AttestationPlatformsAccess.open("sev-snp",
        tree.resolve("none"))).hasMessageContaining("no configfs-tsm report interface")
        .hasMessageContaining("not a confidential VM");
  }
}

package org.cloister.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import org.cloister.protocol.v1.Evidence;
import org.junit.jupiter.api.Test;

class EvidenceWireTest {
  private static final byte[] DOC = {(byte) 0x84, 1, 2, 3};

  @Test
  void nitroRoundTrip() {
    Evidence e = EvidenceWire.nitro(DOC);
    assertThat(e.getVersion()).isEqualTo(2);
    assertThat(e.getPlatform()).isEqualTo("nitro");
    assertThat(EvidenceWire.nitroDocument(e, false, "peer")).containsExactly(DOC);
  }

  @Test
  void everyOtherFormIsRefusedNamingWhatIsWrong() {
    assertThatThrownBy(() -> EvidenceWire.nitroDocument(null, true, "the enclave"))
        .hasMessageContaining("the enclave sent attestation wire form v1").hasMessageContaining("upgrade");
    assertThatThrownBy(() -> EvidenceWire.nitroDocument(null, false, "the enclave"))
        .hasMessageContaining("no attestation evidence");
    Evidence e = EvidenceWire.nitro(DOC);
    assertThatThrownBy(() -> EvidenceWire.nitroDocument(e.toBuilder().setVersion(3).build(), false, "p"))
        .hasMessageContaining("version 3");
    assertThatThrownBy(() -> EvidenceWire.nitroDocument(e.toBuilder().setPlatform("tdx").build(), false, "p"))
        .hasMessageContaining("'tdx' evidence");
    assertThatThrownBy(() -> EvidenceWire.nitroDocument(e.toBuilder().setPlatform("").build(), false, "p"))
        .hasMessageContaining("without a platform");
    assertThatThrownBy(() -> EvidenceWire.nitroDocument(e.toBuilder().setEvidence(ByteString.EMPTY).build(), false, "p"))
        .hasMessageContaining("empty");
  }

  @Test
  void confidentialVmEvidenceCarriesTheKeysItsReportDataBinds() {
    byte[] report = {1, 2, 3};
    byte[] hpke = new byte[32];
    byte[] spki = {9, 9};
    Evidence e = EvidenceWire.confidentialVm("sev-snp", report, java.util.List.of(new byte[] {7}), hpke, spki);
    EvidenceWire.Received r = EvidenceWire.received(e, false, "p");
    assertThat(r.platform()).isEqualTo("sev-snp");
    assertThat(r.evidence()).containsExactly(report);
    assertThat(r.hpkePublicKey()).isEqualTo(hpke);
    assertThat(r.userData()).containsExactly(spki);
    assertThat(r.collateral()).hasSize(1);
    assertThatThrownBy(() -> EvidenceWire.received(e.toBuilder().clearPublicKey().build(), false, "the enclave"))
        .hasMessageContaining("without the public key");
    assertThatThrownBy(() -> EvidenceWire.received(e.toBuilder().setPlatform("SGX!").build(), false, "p"))
        .hasMessageContaining("malformed platform id 'SGX!'");
    assertThatThrownBy(() -> EvidenceWire.received(e.toBuilder().setPlatform("").build(), false, "p"))
        .hasMessageContaining("without a platform");
    // a well-formed id passes the form check: the receiving party's platform registry decides (EvidenceVerifiers.fromId)
    assertThat(EvidenceWire.received(e.toBuilder().setPlatform("sgx").build(), false, "p").platform()).isEqualTo("sgx");
    assertThatThrownBy(() -> EvidenceWire.confidentialVm("nitro", report, java.util.List.of(), hpke, spki))
        .isInstanceOf(IllegalArgumentException.class);
  }
}

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
}

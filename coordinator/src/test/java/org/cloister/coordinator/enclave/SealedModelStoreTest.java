package org.cloister.coordinator.enclave;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.nio.file.Path;
import org.cloister.protocol.v1.SealedModelCopy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SealedModelStoreTest {

  @Test
  void aRestartedCoordinatorServesTheCopiesItStoredBefore(@TempDir Path dir) {
    SealedModelCopy copy = SealedModelCopy.newBuilder().setStudyId("s-1").setVersion(3).setMemberId("site-2")
        .setFormat("hpke-x25519-aes256gcm-v1").setPayload(ByteString.copyFrom(new byte[] {1, 2, 3})).build();
    new SealedModelStore(dir).putCopy(copy);

    SealedModelStore restarted = new SealedModelStore(dir);
    assertThat(restarted.copy("s-1", 3, "site-2")).contains(copy);
    assertThat(restarted.copy("s-1", 3, "site-1")).isEmpty();
    assertThat(restarted.copy("s-1", 4, "site-2")).isEmpty();
    assertThat(restarted.copy("../s-1", 3, "site-2")).isEmpty();
    assertThat(new SealedModelStore(null).copy("s-1", 3, "site-2")).isEmpty();
  }
}

package org.cloister.enclave.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.SplittableRandom;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.EncryptedModel;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.trust.aead.AesGcm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The artifact's weights, encoded, digested and encrypted per 4 KiB segment, against the whole-array encoding. */
class ModelArtifactCipherTest {
  // 1024 values fill one segment exactly; 1025 and 250_001 end in a partial segment
  @ParameterizedTest
  @ValueSource(ints = {1, 1024, 1025, 250_001})
  void theSegmentedEncodingIsTheF32leEncodingAndItsDigest(int dimension) throws Exception {
    SplittableRandom r = new SplittableRandom(dimension);
    float[] w = new float[dimension];
    for (int i = 0; i < dimension; i++) {
      w[i] = (float) r.nextDouble(-3, 3);
    }
    SecureRandom random = SecureRandom.getInstance("SHA1PRNG");
    random.setSeed(5);
    byte[] dataKey = new byte[32];
    byte[] contentKey = new byte[32];
    contentKey[0] = 9;
    MessageDigest digest = MessageDigest.getInstance("SHA-256");

    ModelArtifact a = ModelArtifactCipher.encrypt(w, digest, "study", 4, "mlp", "key", dataKey, new byte[] {1},
        contentKey, random);

    byte[] encoded = FloatCodec.encode(w);
    assertThat(digest.digest()).isEqualTo(FloatCodec.sha256(encoded));
    EncryptedModel m = EncryptedModel.parseFrom(a.getPayload());
    byte[] opened = AesGcm.openStream(contentKey, m.getNonce().toByteArray(),
        ModelArtifactCipher.aad("study", 4, "mlp", dimension, "key"), m.getCiphertext().toByteArray());
    assertThat(opened).isEqualTo(encoded);
    assertThat(ModelArtifactCipher.decrypt(a, m, dataKey, "study", "mlp", dimension)).isEqualTo(w);
    assertThat(a.getSha256().toByteArray()).isEqualTo(FloatCodec.sha256(a.getPayload().toByteArray()));
  }
}

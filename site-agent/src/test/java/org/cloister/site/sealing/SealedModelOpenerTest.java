package org.cloister.site.sealing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import java.util.SplittableRandom;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.EncryptedModel;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ModelArtifactAad;
import org.cloister.trust.aead.AesGcm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The fused open (decrypt, hash and decode per segment) against the three-pass one it replaced. */
class SealedModelOpenerTest {
  private static final String STUDY = "study-a";
  private static final String MODEL = "mlp";
  private static final String KEY_ID = "key-1";

  private static float[] weights(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = (float) (r.nextDouble(-1, 1) * Math.pow(10, r.nextInt(-6, 4)));
    }
    return w;
  }

  private static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < n; i++) {
      b[i] = (byte) r.nextInt(256);
    }
    return b;
  }

  private static ModelArtifact artifact(byte[] contentKey, byte[] nonce, byte[] sealed, int dimension) {
    EncryptedModel m = EncryptedModel.newBuilder().setKeyId(KEY_ID).setNonce(ByteString.copyFrom(nonce))
        .setCiphertext(ByteString.copyFrom(sealed)).build();
    return ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(7).setModelName(MODEL).setDimension(dimension)
        .setPayload(m.toByteString()).build();
  }

  private static byte[] aad(int dimension) {
    return ModelArtifactAad.newBuilder().setStudyId(STUDY).setVersion(7).setModelName(MODEL).setDimension(dimension)
        .setKeyId(KEY_ID).build().toByteArray();
  }

  // 1024 values fill exactly one segment; 1025 and 250_001 end in a partial last segment; 1 is a lone value
  @ParameterizedTest
  @ValueSource(ints = {1, 1024, 1025, 3000, 250_001})
  void fusedOpenEqualsDecryptThenDecodeThenHash(int dimension) throws Exception {
    byte[] key = bytes(32, dimension);
    byte[] nonce = bytes(12, dimension + 1L);
    float[] w = weights(dimension, dimension + 2L);
    byte[] sealed = AesGcm.sealStream(key, nonce, aad(dimension), FloatCodec.encode(w));

    SealedModelOpener.Opened opened = SealedModelOpener.decryptWithDigest(artifact(key, nonce, sealed, dimension),
        key, dimension);

    byte[] plain = AesGcm.openStream(key, nonce, aad(dimension), sealed); // the unfused path
    assertThat(opened.weights()).isEqualTo(FloatCodec.decode(plain, dimension)).isEqualTo(w);
    assertThat(opened.sha256()).isEqualTo(FloatCodec.sha256(plain));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2})
  void aTamperedSegmentRefusesTheWholeArtifact(int segment) throws Exception {
    int dimension = 2500; // three segments, the last partial
    byte[] key = bytes(32, 5);
    byte[] nonce = bytes(12, 6);
    byte[] sealed = AesGcm.sealStream(key, nonce, aad(dimension), FloatCodec.encode(weights(dimension, 7)));
    sealed[segment * (AesGcm.SEGMENT_BYTES + AesGcm.TAG_BYTES) + 3] ^= 1;

    assertThatThrownBy(() -> SealedModelOpener.decryptWithDigest(artifact(key, nonce, sealed, dimension), key,
        dimension)).isInstanceOf(SealingException.class).hasMessageContaining("does not decrypt");
  }

  @ParameterizedTest
  @ValueSource(ints = {1000, 1001})
  void anotherDimensionOrAnAlteredLengthIsRefused(int claimed) throws Exception {
    int dimension = 1000;
    byte[] key = bytes(32, 8);
    byte[] nonce = bytes(12, 9);
    byte[] sealed = AesGcm.sealStream(key, nonce, aad(claimed), FloatCodec.encode(weights(dimension, 10)));
    byte[] cut = java.util.Arrays.copyOf(sealed, claimed == dimension ? sealed.length - 1 : sealed.length);

    assertThatThrownBy(() -> SealedModelOpener.decryptWithDigest(artifact(key, nonce, cut, claimed), key, claimed))
        .isInstanceOf(SealingException.class).hasMessageContaining("does not decrypt");
  }
}

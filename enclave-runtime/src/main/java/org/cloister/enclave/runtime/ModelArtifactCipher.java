package org.cloister.enclave.runtime;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.AEADBadTagException;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.EncryptedModel;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ModelArtifactAad;
import org.cloister.trust.aead.AesGcm;

/**
 * The published global-weights artifact (format {@value #FORMAT}): the weights encrypted once per
 * version under a fresh content key (AES-256-GCM in its streaming form, {@link AesGcm#sealStream}),
 * that content key wrapped under a model data key from the key broker (envelope encryption; the
 * broker's wrapped copy of the data key travels with the artifact), associated data
 * {@link ModelArtifactAad} for both. The secure aggregator writes it (and seals the content key to
 * each consortium member separately); the secure aggregator after a restart and the inference
 * enclave read it with the data key.
 */
public final class ModelArtifactCipher {
  /** Format of the encrypted artifact (payload: an {@link EncryptedModel}). */
  public static final String FORMAT = "cloister-kms-aes256gcm-v2";

  private static final java.lang.invoke.VarHandle F32LE =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(float[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

  private ModelArtifactCipher() {
  }

  /** The encryption context every model data key of study {@code studyId} is bound to. */
  public static Map<String, String> context(String studyId) {
    return Map.of("study_id", studyId, "purpose", "global-model");
  }

  /**
   * Encrypts {@code weights} as version {@code version} under {@code contentKey}, which is wrapped
   * under {@code dataKey} (itself wrapped by the broker: {@code wrappedKey}).
   */
  public static ModelArtifact encrypt(float[] weights, String studyId, long version, String modelName, String keyId,
                                      byte[] dataKey, byte[] wrappedKey, byte[] contentKey, SecureRandom random) {
    return encrypt(weights, null, studyId, version, modelName, keyId, dataKey, wrappedKey, contentKey, random);
  }

  /**
   * As {@link #encrypt}, also feeding the weights' f32le encoding to {@code encodingDigest} (unless null): the
   * encoding is written one 4 KiB segment at a time, digested and encrypted while cache-hot, so no whole encoded
   * copy is made and a caller that needs the weights' digest does not encode them again.
   */
  public static ModelArtifact encrypt(float[] weights, java.security.MessageDigest encodingDigest, String studyId,
                                      long version, String modelName, String keyId, byte[] dataKey, byte[] wrappedKey,
                                      byte[] contentKey, SecureRandom random) {
    int dimension = weights.length;
    {
      byte[] aad = aad(studyId, version, modelName, dimension, keyId);
      byte[] nonce = AesGcm.random(random, AesGcm.NONCE_BYTES);
      byte[] keyNonce = AesGcm.random(random, AesGcm.NONCE_BYTES);
      byte[] sealed = new byte[AesGcm.streamLength(dimension * Float.BYTES)];
      AesGcm.sealStream(contentKey, nonce, aad, dimension * Float.BYTES, (buffer, len, position) -> {
        for (int i = 0, v = position / Float.BYTES; i < len; i += Float.BYTES, v++) {
          F32LE.set(buffer, i, weights[v]);
        }
        if (encodingDigest != null) {
          encodingDigest.update(buffer, 0, len);
        }
      }, sealed, 0);
      byte[] payload = EncryptedModel.newBuilder()
          .setKeyId(keyId)
          .setWrappedDataKey(ByteString.copyFrom(wrappedKey))
          .putAllEncryptionContext(context(studyId))
          .setNonce(ByteString.copyFrom(nonce))
          // fresh arrays nothing else holds: wrapped, not copied
          .setCiphertext(UnsafeByteOperations.unsafeWrap(sealed))
          .setContentKeyNonce(ByteString.copyFrom(keyNonce))
          .setWrappedContentKey(ByteString.copyFrom(AesGcm.seal(dataKey, keyNonce, aad, contentKey)))
          .build().toByteArray();
      return ModelArtifact.newBuilder()
          .setStudyId(studyId).setVersion(version).setModelName(modelName)
          .setDimension(dimension).setFormat(FORMAT)
          .setPayload(UnsafeByteOperations.unsafeWrap(payload))
          .setSha256(ByteString.copyFrom(FloatCodec.sha256(payload)))
          .build();
    }
  }

  /**
   * The envelope of an artifact, checked to be of this format, under {@code keyId} and bound to
   * study {@code studyId}'s encryption context.
   */
  public static EncryptedModel envelope(ModelArtifact artifact, String studyId, String keyId) throws IOException {
    EncryptedModel m;
    try {
      m = EncryptedModel.parseFrom(artifact.getPayload());
    } catch (InvalidProtocolBufferException e) {
      throw new IOException("model artifact payload is not an EncryptedModel: " + e.getMessage(), e);
    }
    if (!m.getKeyId().equals(keyId)) {
      throw new IOException("model artifact is encrypted under key '" + m.getKeyId() + "', not this study's key");
    }
    if (!m.getEncryptionContextMap().equals(context(studyId))) {
      throw new IOException("model artifact's encryption context " + new TreeMap<>(m.getEncryptionContextMap())
          + " is not this study's");
    }
    return m;
  }

  /**
   * Decrypts an artifact's weights with its data key, authenticating its version and the expected
   * study, model name and dimension.
   *
   * @throws IOException when the ciphertext does not authenticate (altered, or relabelled) or has
   *     another dimension
   */
  public static float[] decrypt(ModelArtifact artifact, EncryptedModel envelope, byte[] dataKey, String studyId,
                                String modelName, int dimension) throws IOException {
    byte[] aad = aad(studyId, artifact.getVersion(), modelName, dimension, envelope.getKeyId());
    byte[] contentKey = null;
    byte[] plain = null;
    try {
      contentKey = AesGcm.open(dataKey, envelope.getContentKeyNonce().toByteArray(), aad,
          envelope.getWrappedContentKey().toByteArray());
      plain = AesGcm.openStream(contentKey, envelope.getNonce().toByteArray(), aad, envelope.getCiphertext().toByteArray());
      return FloatCodec.decode(plain, dimension);
    } catch (AEADBadTagException e) {
      throw new IOException("model artifact version " + artifact.getVersion() + " does not authenticate "
          + "(altered, or relabelled with another version)", e);
    } catch (IllegalArgumentException e) {
      throw new IOException("model artifact cannot be decrypted: " + e.getMessage(), e);
    } finally {
      if (contentKey != null) {
        Arrays.fill(contentKey, (byte) 0);
      }
      if (plain != null) {
        Arrays.fill(plain, (byte) 0);
      }
    }
  }

  static byte[] aad(String studyId, long version, String modelName, int dimension, String keyId) {
    return ModelArtifactAad.newBuilder().setStudyId(studyId).setVersion(version)
        .setModelName(modelName).setDimension(dimension).setKeyId(keyId)
        .build().toByteArray();
  }
}

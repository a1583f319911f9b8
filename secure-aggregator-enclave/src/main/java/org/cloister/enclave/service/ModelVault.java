package org.cloister.enclave.service;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.AEADBadTagException;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.EncryptedModel;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ModelArtifactAad;
import org.cloister.protocol.v1.ModelCopyAad;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.trust.aead.AesGcm;
import org.cloister.trust.hpke.FastHpke;
import org.cloister.trust.hpke.HpkeException;

/**
 * How the enclave publishes a global model without the host being able to read it: the weights
 * are encrypted once per version under a fresh content key (AES-256-GCM), and that key is wrapped
 * (a) under a model data key from the key broker (envelope encryption; the wrapped data key
 * travels with the artifact, so only an attested enclave the broker's policy admits — this one
 * after a restart, or the inference tier — can read it), and (b) for each consortium member with
 * HPKE to the member's key from the measured configuration (a small copy the member fetches next
 * to the artifact it already receives with its task).
 */
public final class ModelVault {
  /** Format of the encrypted artifact (payload: an {@link EncryptedModel}). */
  public static final String ARTIFACT_FORMAT = "cloister-kms-aes256gcm-v2";
  /** Format of member copies. */
  public static final String COPY_FORMAT = "hpke-x25519-content-key-v1";
  /** HPKE info of member copies. */
  public static final byte[] COPY_INFO = "cloister/v1 global model".getBytes(StandardCharsets.US_ASCII);

  private final AggregationPolicy policy;
  private final EnclaveConfig config;
  private final KeyBrokerClient broker;
  private final SecureRandom random;
  private final Map<String, byte[]> dataKeys = new HashMap<>(); // wrapped (hex) -> data key, enclave memory only
  private KeyBrokerClient.DataKey current;

  public ModelVault(AggregationPolicy policy, EnclaveConfig config, KeyBrokerClient broker, SecureRandom random) {
    this.policy = policy;
    this.config = config;
    this.broker = broker;
    this.random = random;
  }

  /** The encryption context every model data key of this study is bound to. */
  public Map<String, String> context() {
    return Map.of("study_id", policy.studyId(), "purpose", "global-model");
  }

  /** Obtains this session's model data key from the broker (fails if the broker refuses this enclave). */
  public synchronized void open() throws IOException {
    current = broker.generateDataKey(config.keyBroker().keyId(), context());
    dataKeys.put(HexFormat.of().formatHex(current.wrapped()), current.key());
  }

  /** A published version: the encrypted artifact and each member's sealed copy of its content key. */
  public record Publication(ModelArtifact artifact, List<SealedModelCopy> copies) {
    public Publication {
      copies = List.copyOf(copies);
    }
  }

  /**
   * Publishes {@code weights} as version {@code version}: encrypts them once under a fresh content
   * key, wraps that key under the broker's data key (for attested enclaves) and seals it with HPKE
   * to each consortium member's key (for the members).
   */
  public synchronized Publication publish(float[] weights, long version) {
    if (current == null) {
      throw new IllegalStateException("model vault not opened");
    }
    byte[] plain = FloatCodec.encode(weights);
    byte[] contentKey = AesGcm.random(random, AesGcm.KEY_BYTES);
    try {
      byte[] aad = artifactAad(version);
      byte[] nonce = AesGcm.random(random, AesGcm.NONCE_BYTES);
      byte[] keyNonce = AesGcm.random(random, AesGcm.NONCE_BYTES);
      byte[] payload = EncryptedModel.newBuilder()
          .setKeyId(config.keyBroker().keyId())
          .setWrappedDataKey(ByteString.copyFrom(current.wrapped()))
          .putAllEncryptionContext(context())
          .setNonce(ByteString.copyFrom(nonce))
          .setCiphertext(ByteString.copyFrom(AesGcm.sealStream(contentKey, nonce, aad, plain)))
          .setContentKeyNonce(ByteString.copyFrom(keyNonce))
          .setWrappedContentKey(ByteString.copyFrom(AesGcm.seal(current.key(), keyNonce, aad, contentKey)))
          .build().toByteArray();
      ModelArtifact artifact = ModelArtifact.newBuilder()
          .setStudyId(policy.studyId()).setVersion(version).setModelName(policy.modelName())
          .setDimension(policy.dimension()).setFormat(ARTIFACT_FORMAT)
          .setPayload(ByteString.copyFrom(payload))
          .setSha256(ByteString.copyFrom(FloatCodec.sha256(payload)))
          .build();
      return new Publication(artifact, sealForMembers(contentKey, version));
    } finally {
      Arrays.fill(plain, (byte) 0);
      Arrays.fill(contentKey, (byte) 0);
    }
  }

  /**
   * Decrypts an artifact this study published (asking the broker for its data key if it is not the
   * current one, e.g. after a restart).
   *
   * @throws IOException when the artifact is malformed, belongs to another study or key, the broker
   *     refuses, or the ciphertext does not authenticate
   */
  public synchronized float[] decrypt(ModelArtifact artifact) throws IOException {
    EncryptedModel m;
    try {
      m = EncryptedModel.parseFrom(artifact.getPayload());
    } catch (InvalidProtocolBufferException e) {
      throw new IOException("model artifact payload is not an EncryptedModel: " + e.getMessage(), e);
    }
    if (!m.getKeyId().equals(config.keyBroker().keyId())) {
      throw new IOException("model artifact is encrypted under key '" + m.getKeyId() + "', not this study's key");
    }
    if (!m.getEncryptionContextMap().equals(context())) {
      throw new IOException("model artifact's encryption context " + new java.util.TreeMap<>(m.getEncryptionContextMap())
          + " is not this study's");
    }
    byte[] wrapped = m.getWrappedDataKey().toByteArray();
    String id = HexFormat.of().formatHex(wrapped);
    byte[] key = dataKeys.get(id);
    if (key == null) {
      key = broker.decrypt(m.getKeyId(), wrapped, context());
      dataKeys.put(id, key);
    }
    byte[] aad = artifactAad(artifact.getVersion());
    byte[] contentKey = null;
    byte[] plain = null;
    try {
      contentKey = AesGcm.open(key, m.getContentKeyNonce().toByteArray(), aad, m.getWrappedContentKey().toByteArray());
      plain = AesGcm.openStream(contentKey, m.getNonce().toByteArray(), aad, m.getCiphertext().toByteArray());
      return FloatCodec.decode(plain, policy.dimension());
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

  /** Each consortium member's HPKE-sealed copy of a version's content key. */
  private List<SealedModelCopy> sealForMembers(byte[] contentKey, long version) {
    FastHpke hpke = new FastHpke();
    return config.members().stream().map(member -> {
      byte[] aad = copyAad(policy, version, member.id());
      try {
        return SealedModelCopy.newBuilder().setStudyId(policy.studyId()).setVersion(version)
            .setMemberId(member.id()).setFormat(COPY_FORMAT)
            .setPayload(ByteString.copyFrom(hpke.seal(member.publicKey(), COPY_INFO, aad, contentKey, random)))
            .build();
      } catch (HpkeException e) {
        throw new IllegalStateException("member " + member.id() + ": cannot seal to its key: " + e.getMessage(), e);
      }
    }).toList();
  }

  static byte[] copyAad(AggregationPolicy policy, long version, String memberId) {
    return ModelCopyAad.newBuilder().setStudyId(policy.studyId()).setVersion(version).setMemberId(memberId)
        .setModelName(policy.modelName()).setDimension(policy.dimension()).build().toByteArray();
  }

  private byte[] artifactAad(long version) {
    return ModelArtifactAad.newBuilder().setStudyId(policy.studyId()).setVersion(version)
        .setModelName(policy.modelName()).setDimension(policy.dimension()).setKeyId(config.keyBroker().keyId())
        .build().toByteArray();
  }
}

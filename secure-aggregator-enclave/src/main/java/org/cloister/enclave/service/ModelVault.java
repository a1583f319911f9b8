package org.cloister.enclave.service;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.runtime.KeyBrokerClient;
import org.cloister.enclave.runtime.ModelArtifactCipher;
import org.cloister.protocol.v1.EncryptedModel;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ModelCopyAad;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.trust.aead.AesGcm;
import org.cloister.trust.hpke.Hpke;
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
  public static final String ARTIFACT_FORMAT = ModelArtifactCipher.FORMAT;
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
  /** A content key drawn, and sealed to the members, before its version's weights exist; null: none. */
  private Prepared prepared;

  /** Enclave memory only; its copies are released only with the artifact they open. */
  private record Prepared(long version, byte[] contentKey, List<SealedModelCopy> copies) {
  }

  public ModelVault(AggregationPolicy policy, EnclaveConfig config, KeyBrokerClient broker, SecureRandom random) {
    this.policy = policy;
    this.config = config;
    this.broker = broker;
    this.random = random;
  }

  /** The encryption context every model data key of this study is bound to. */
  public Map<String, String> context() {
    return ModelArtifactCipher.context(policy.studyId());
  }

  /** Obtains this session's model data key from the broker (fails if the broker refuses this enclave). */
  public synchronized void open() throws IOException {
    current = broker.generateDataKey(config.keyBroker().keyId(), context());
    dataKeys.put(HexFormat.of().formatHex(current.wrapped()), current.key());
  }

  /**
   * A published version: the encrypted artifact, each member's sealed copy of its content key, and the SHA-256 of
   * the weights' f32le encoding (the base digest a round on this version names), computed over the same encoding
   * that was encrypted.
   */
  public record Publication(ModelArtifact artifact, List<SealedModelCopy> copies, byte[] weightsSha256) {
    public Publication {
      copies = List.copyOf(copies);
      weightsSha256 = weightsSha256.clone();
    }

    @Override
    public byte[] weightsSha256() {
      return weightsSha256.clone();
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
    Prepared p = prepared != null && prepared.version() == version ? prepared : null;
    if (p != null) {
      prepared = null; // its key is used (and wiped) below
    } else {
      discardPrepared(); // prepared for another version: never released
    }
    byte[] contentKey = p != null ? p.contentKey() : AesGcm.random(random, AesGcm.KEY_BYTES);
    try {
      // encoded once, per 4 KiB segment: each segment digested (the next round's base digest) and encrypted
      java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
      ModelArtifact artifact = ModelArtifactCipher.encrypt(weights, digest, policy.studyId(), version,
          policy.modelName(), config.keyBroker().keyId(), current.key(), current.wrapped(), contentKey, random);
      return new Publication(artifact, p != null ? p.copies() : sealForMembers(contentKey, version), digest.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    } finally {
      Arrays.fill(contentKey, (byte) 0);
    }
  }

  /**
   * Draws the content key of {@code version} and seals it to each member now, so that {@link #publish}
   * (at the end of a round, while every site waits) only encrypts the weights. The key is fresh, lives
   * in enclave memory only, and its copies leave the enclave only with the artifact of that version:
   * a round that publishes nothing leaves them unused, and the next call (or publication) wipes them.
   * One key per call: a version prepared again gets a new key.
   */
  public synchronized void prepare(long version) {
    discardPrepared();
    byte[] contentKey = AesGcm.random(random, AesGcm.KEY_BYTES);
    prepared = new Prepared(version, contentKey, sealForMembers(contentKey, version));
  }

  private void discardPrepared() {
    if (prepared != null) {
      Arrays.fill(prepared.contentKey(), (byte) 0);
      prepared = null;
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
    EncryptedModel m = ModelArtifactCipher.envelope(artifact, policy.studyId(), config.keyBroker().keyId());
    byte[] wrapped = m.getWrappedDataKey().toByteArray();
    String id = HexFormat.of().formatHex(wrapped);
    byte[] key = dataKeys.get(id);
    if (key == null) {
      key = broker.decrypt(m.getKeyId(), wrapped, context());
      dataKeys.put(id, key);
    }
    return ModelArtifactCipher.decrypt(artifact, m, key, policy.studyId(), policy.modelName(), policy.dimension());
  }

  /** Each consortium member's HPKE-sealed copy of a version's content key. */
  private List<SealedModelCopy> sealForMembers(byte[] contentKey, long version) {
    Hpke hpke = new Hpke(random);
    return config.members().stream().map(member -> {
      byte[] aad = copyAad(policy, version, member.id());
      try {
        return SealedModelCopy.newBuilder().setStudyId(policy.studyId()).setVersion(version)
            .setMemberId(member.id()).setFormat(COPY_FORMAT)
            .setPayload(ByteString.copyFrom(hpke.seal(member.publicKey(), COPY_INFO, aad, contentKey)))
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
}

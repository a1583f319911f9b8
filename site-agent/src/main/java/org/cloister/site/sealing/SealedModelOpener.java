package org.cloister.site.sealing;

import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.AttestationRelayGrpc;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.EncryptedModel;
import org.cloister.protocol.v1.ModelArtifactAad;
import org.cloister.protocol.v1.ModelCopyAad;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.protocol.v1.SealedModelRequest;
import org.cloister.trust.aead.AesGcm;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeException;
import org.cloister.trust.hpke.HpkeKeyPair;

/**
 * Opens a published global model for one consortium member. The artifact (which the member
 * receives with its task) holds the weights encrypted once under the version's content key; the
 * enclave sealed that key to the member's X25519 key (listed in the enclave's measured
 * configuration), and the coordinator stores the small sealed copy and hands it out. Only the
 * initial model (version 1: public random initial weights that carry no patient data) may arrive
 * as plaintext.
 */
public final class SealedModelOpener {
  /** Format of the artifact the coordinator stores (encrypted under a key-broker key). */
  public static final String ARTIFACT_FORMAT = "cloister-kms-aes256gcm-v2";
  /** Format of member copies. */
  public static final String COPY_FORMAT = "hpke-x25519-content-key-v1";
  static final byte[] COPY_INFO = "cloister/v1 global model".getBytes(StandardCharsets.US_ASCII);

  private final AttestationRelayGrpc.AttestationRelayBlockingStub relay;
  private final String memberId;
  private final HpkeKeyPair memberKey;

  /**
   * @param coordinator channel to the coordinator (serves the attestation relay), or null to open
   *                    only copies obtained otherwise ({@link #open(ModelArtifact, SealedModelCopy, int)})
   * @param memberId    this member's identity, as in the enclave configuration
   * @param memberKey   this member's sealing key pair (the private key stays at the member)
   */
  public SealedModelOpener(Channel coordinator, String memberId, HpkeKeyPair memberKey) {
    this.relay = coordinator == null ? null : AttestationRelayGrpc.newBlockingStub(coordinator);
    this.memberId = Objects.requireNonNull(memberId, "memberId");
    this.memberKey = Objects.requireNonNull(memberKey, "memberKey");
  }

  /**
   * The weights of {@code model}.
   *
   * @throws SealingException when a plaintext model is offered for a version after the first, the
   *     copy cannot be fetched, or it does not open (not sealed to this member, or relabelled)
   */
  public float[] open(ModelArtifact model, int dimension) {
    return openWithDigest(model, dimension).weights();
  }

  /** Opened weights and the SHA-256 of their f32le encoding (the digest a round challenge names). */
  public record Opened(float[] weights, byte[] sha256) {
  }

  /**
   * As {@link #open(ModelArtifact, int)}, with the SHA-256 of the weights' f32le bytes, hashed from the
   * decrypted bytes themselves (no second encoding of the weights to hash them).
   */
  public Opened openWithDigest(ModelArtifact model, int dimension) {
    return openWithDigest(model, dimension, com.google.protobuf.ByteString.EMPTY);
  }

  /**
   * As {@link #openWithDigest(ModelArtifact, int)} with the copy the coordinator handed out with the task
   * ({@code PollTaskResponse.sealed_model_copy}; empty: none). It is used, and checked exactly as a fetched
   * one, when it is this member's copy of this study and version; otherwise the copy is fetched.
   */
  public Opened openWithDigest(ModelArtifact model, int dimension, com.google.protobuf.ByteString attached) {
    if (FloatCodec.WEIGHTS_F32LE.equals(model.getFormat())) {
      if (model.getVersion() != 1) {
        throw new SealingException("refusing a plaintext global model for version " + model.getVersion()
            + ": only the initial version 1 is public; later versions come sealed from the enclave");
      }
      float[] w = FloatCodec.decode(model.getPayload(), dimension);
      return new Opened(w, FloatCodec.sha256(model.getPayload()));
    }
    if (!ARTIFACT_FORMAT.equals(model.getFormat())) {
      throw new SealingException("unknown global model format '" + model.getFormat() + "'");
    }
    if (relay == null) {
      throw new SealingException("no channel to the coordinator to fetch model version " + model.getVersion());
    }
    if (!attached.isEmpty()) {
      try {
        SealedModelCopy c = SealedModelCopy.parseFrom(attached);
        if (c.getStudyId().equals(model.getStudyId()) && c.getVersion() == model.getVersion()
            && c.getMemberId().equals(memberId)) {
          return openWithDigest(model, c, dimension);
        }
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        // not a copy: fetched below, as without one
      }
    }
    SealedModelCopy copy;
    try {
      copy = relay.withDeadlineAfter(30, TimeUnit.SECONDS).fetchSealedModel(SealedModelRequest.newBuilder()
          .setStudyId(model.getStudyId()).setVersion(model.getVersion()).setMemberId(memberId).build());
    } catch (StatusRuntimeException e) {
      throw new SealingException("cannot fetch this member's copy of model version " + model.getVersion() + ": "
          + e.getStatus().getCode() + ": " + e.getStatus().getDescription(), e);
    }
    return openWithDigest(model, copy, dimension);
  }

  /**
   * The weights of {@code model} from this member's sealed {@code copy} (however it was obtained,
   * e.g. from the coordinator's store by a consortium tool).
   */
  public float[] open(ModelArtifact model, SealedModelCopy copy, int dimension) {
    return openWithDigest(model, copy, dimension).weights();
  }

  private Opened openWithDigest(ModelArtifact model, SealedModelCopy copy, int dimension) {
    if (!COPY_FORMAT.equals(copy.getFormat())) {
      throw new SealingException("sealed model copy has format '" + copy.getFormat() + "', expected " + COPY_FORMAT);
    }
    byte[] aad = ModelCopyAad.newBuilder().setStudyId(model.getStudyId()).setVersion(model.getVersion())
        .setMemberId(memberId).setModelName(model.getModelName()).setDimension(dimension).build().toByteArray();
    byte[] contentKey;
    try {
      contentKey = new Hpke().open(memberKey, copy.getPayload().toByteArray(), COPY_INFO, aad);
    } catch (HpkeException e) {
      throw new SealingException("model version " + model.getVersion() + " does not open for member " + memberId
          + " (not sealed to this member's key, or relabelled): " + e.getMessage(), e);
    }
    try {
      return decryptWithDigest(model, contentKey, dimension);
    } finally {
      java.util.Arrays.fill(contentKey, (byte) 0);
    }
  }

  /**
   * The weights of an artifact (format {@value #ARTIFACT_FORMAT}) given its version's content key
   * (what a member's sealed copy holds).
   *
   * @throws SealingException when the payload is not an envelope or does not decrypt with this key
   *     (altered, or relabelled)
   */
  public static float[] decrypt(ModelArtifact model, byte[] contentKey, int dimension) {
    return decryptWithDigest(model, contentKey, dimension).weights();
  }

  /**
   * Decrypts, hashes and decodes the artifact in one pass over each 4 KiB segment while it is in cache
   * ({@link AesGcm#openStream(byte[], byte[], byte[], byte[], int, int, AesGcm.SegmentSink)}), instead of
   * decrypting 4 MB, then decoding and hashing them in two more passes; a segment that does not authenticate
   * wipes what was decoded and refuses the whole artifact. The same weights and digest as
   * {@code FloatCodec.decode} and {@code FloatCodec.sha256} of the opened bytes (SealedModelOpenerTest).
   */
  static Opened decryptWithDigest(ModelArtifact model, byte[] contentKey, int dimension) {
    try {
      // aliasing: the ciphertext is a view of the artifact's immutable payload, copied once (below), not twice
      com.google.protobuf.CodedInputStream input = model.getPayload().newCodedInput();
      input.enableAliasing(true);
      EncryptedModel m = EncryptedModel.parseFrom(input);
      byte[] artifactAad = ModelArtifactAad.newBuilder().setStudyId(model.getStudyId()).setVersion(model.getVersion())
          .setModelName(model.getModelName()).setDimension(dimension).setKeyId(m.getKeyId()).build().toByteArray();
      byte[] sealed = m.getCiphertext().toByteArray();
      int plain = AesGcm.streamPlaintextLength(sealed.length);
      if (plain < 0) {
        throw new javax.crypto.AEADBadTagException("a streaming AES-GCM message cannot be " + sealed.length
            + " bytes long");
      }
      if (plain % Float.BYTES != 0) {
        throw new IllegalArgumentException("payload of " + plain + " bytes is not a whole number of float32 values");
      }
      if (dimension >= 0 && plain / Float.BYTES != dimension) {
        throw new IllegalArgumentException("payload has " + plain / Float.BYTES + " values, expected " + dimension);
      }
      float[] w = new float[plain / Float.BYTES];
      MessageDigest sha256 = sha256();
      boolean ok = false;
      try {
        AesGcm.openStream(contentKey, m.getNonce().toByteArray(), artifactAad, sealed, 0, sealed.length,
            (bytes, off, len, position) -> {
              sha256.update(bytes, off, len);
              for (int i = 0, v = position / Float.BYTES; i < len; i += Float.BYTES, v++) {
                w[v] = (float) F32LE.get(bytes, off + i);
              }
            });
        ok = true;
        return new Opened(w, sha256.digest());
      } finally {
        if (!ok) {
          java.util.Arrays.fill(w, 0f); // segments before the one refused: no weights of a refused artifact
        }
      }
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new SealingException("model version " + model.getVersion() + ": the artifact's payload is not an "
          + "EncryptedModel: " + e.getMessage(), e);
    } catch (javax.crypto.AEADBadTagException | IllegalArgumentException e) {
      throw new SealingException("model version " + model.getVersion() + " does not decrypt with this member's key "
          + "copy (artifact altered, or relabelled): " + e.getMessage(), e);
    } catch (java.io.IOException e) {
      throw new SealingException("model version " + model.getVersion() + ": the artifact's payload is not an "
          + "EncryptedModel: " + e.getMessage(), e);
    }
  }

  private static final java.lang.invoke.VarHandle F32LE =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(float[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

}

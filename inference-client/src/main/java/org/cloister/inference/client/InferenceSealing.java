package org.cloister.inference.client;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.regex.Pattern;
import org.cloister.protocol.v1.InferenceAad;
import org.cloister.trust.aead.AesGcm;

/**
 * The sealing contract of the inference tier, shared by the client and the enclave. A query is
 * HPKE-sealed (base mode, X25519 / HKDF-SHA256 / AES-256-GCM, info {@link #QUERY_INFO}) to the
 * attested enclave key; the reply key is {@code Export(}{@link #REPLY_EXPORT}{@code , 32)} of that
 * same HPKE context, used once with AES-256-GCM and a zero nonce. Both bind the
 * {@link InferenceAad} (request id, study, model version).
 */
public final class InferenceSealing {
  public static final byte[] QUERY_INFO = "cloister/v1 inference query".getBytes(StandardCharsets.US_ASCII);
  public static final byte[] REPLY_EXPORT = "cloister/v1 inference reply key".getBytes(StandardCharsets.US_ASCII);
  public static final int REPLY_KEY_BYTES = 32;
  private static final byte[] REPLY_NONCE = new byte[AesGcm.NONCE_BYTES];
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._-]{16,64}");

  private InferenceSealing() {
  }

  /** Checks a request id: 16..64 characters of {@code [A-Za-z0-9._-]}. */
  public static String checkRequestId(String id) {
    if (id == null || !REQUEST_ID.matcher(id).matches()) {
      throw new IllegalArgumentException("request_id must be 16..64 characters of [A-Za-z0-9._-]");
    }
    return id;
  }

  public static byte[] aad(String requestId, String studyId, long modelVersion) {
    return InferenceAad.newBuilder().setRequestId(requestId).setStudyId(studyId).setModelVersion(modelVersion)
        .build().toByteArray();
  }

  /** Encrypts a reply under a single-use reply key. */
  public static byte[] sealReply(byte[] replyKey, byte[] aad, byte[] plaintext) {
    // the reply key is fresh per request (exported from a fresh HPKE context), so one fixed nonce is safe
    return AesGcm.seal(replyKey, REPLY_NONCE.clone(), aad, plaintext);
  }

  /** Decrypts a reply; fails when it was not sealed under this key and aad. */
  public static byte[] openReply(byte[] replyKey, byte[] aad, byte[] ciphertext) throws GeneralSecurityException {
    return AesGcm.open(replyKey, REPLY_NONCE.clone(), aad, ciphertext);
  }
}

package org.cloister.broker;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.AEADBadTagException;
import javax.crypto.SecretKey;
import org.cloister.trust.aead.AesGcm;

/**
 * Wraps data keys under a key-encryption key: {@code 0x01 ||} {@link AesGcm#wrapKey} ({@code nonce(12) ||
 * AES-256-GCM(KEK, nonce, aad) of the 32-byte data key || tag(16)}), where the aad binds the key id and the encryption
 * context (sorted, length-prefixed UTF-8), as KMS does, so a blob only unwraps for the same key
 * and context.
 */
final class DataKeyWrapper {
  static final int DATA_KEY_BYTES = 32;
  private static final byte VERSION = 1;
  private static final int NONCE = 12;
  static final int BLOB_BYTES = 1 + NONCE + DATA_KEY_BYTES + 16;

  private final SecureRandom random;

  DataKeyWrapper(SecureRandom random) {
    this.random = random;
  }

  byte[] newDataKey() {
    byte[] k = new byte[DATA_KEY_BYTES];
    random.nextBytes(k);
    return k;
  }

  byte[] wrap(SecretKey kek, String keyId, Map<String, String> context, byte[] dataKey) throws GeneralSecurityException {
    byte[] k = encoded(kek);
    try {
      byte[] wrapped = AesGcm.wrapKey(k, aad(keyId, context), dataKey, random);
      return ByteBuffer.allocate(1 + wrapped.length).put(VERSION).put(wrapped).array();
    } finally {
      Arrays.fill(k, (byte) 0);
    }
  }

  /** @throws GeneralSecurityException when the blob was not wrapped under this key and context */
  byte[] unwrap(SecretKey kek, String keyId, Map<String, String> context, byte[] blob) throws GeneralSecurityException {
    if (blob.length != BLOB_BYTES || blob[0] != VERSION) {
      throw new GeneralSecurityException("ciphertext blob is not a version-1 wrapped data key of " + BLOB_BYTES + " bytes");
    }
    byte[] k = encoded(kek);
    try {
      return AesGcm.unwrapKey(k, aad(keyId, context), Arrays.copyOfRange(blob, 1, blob.length));
    } catch (AEADBadTagException e) {
      throw new GeneralSecurityException("ciphertext blob does not unwrap under key " + keyId
          + " with this encryption context", e);
    } finally {
      Arrays.fill(k, (byte) 0);
    }
  }

  private static byte[] encoded(SecretKey kek) throws GeneralSecurityException {
    byte[] k = kek.getEncoded();
    if (k == null || k.length != AesGcm.KEY_BYTES) {
      throw new GeneralSecurityException("key-encryption key must be a " + AesGcm.KEY_BYTES + "-byte AES key");
    }
    return k;
  }

  static byte[] aad(String keyId, Map<String, String> context) {
    ByteBuffer b = ByteBuffer.allocate(4096);
    put(b, "cloister-kek-wrap/v1");
    put(b, keyId);
    for (Map.Entry<String, String> e : new TreeMap<>(context).entrySet()) {
      put(b, e.getKey());
      put(b, e.getValue());
    }
    return Arrays.copyOf(b.array(), b.position());
  }

  private static void put(ByteBuffer b, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > 256 || b.remaining() < bytes.length + 4) {
      throw new IllegalArgumentException("encryption context too large");
    }
    b.putInt(bytes.length).put(bytes);
  }
}

package org.cloister.broker;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * Wraps data keys under a key-encryption key: {@code 0x01 || nonce(12) || AES-256-GCM(KEK, nonce,
 * aad) of the 32-byte data key || tag(16)}, where the aad binds the key id and the encryption
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
    byte[] nonce = new byte[NONCE];
    random.nextBytes(nonce);
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(Cipher.ENCRYPT_MODE, kek, new GCMParameterSpec(128, nonce));
    c.updateAAD(aad(keyId, context));
    byte[] ct = c.doFinal(dataKey);
    return ByteBuffer.allocate(1 + NONCE + ct.length).put(VERSION).put(nonce).put(ct).array();
  }

  /** @throws GeneralSecurityException when the blob was not wrapped under this key and context */
  byte[] unwrap(SecretKey kek, String keyId, Map<String, String> context, byte[] blob) throws GeneralSecurityException {
    if (blob.length != BLOB_BYTES || blob[0] != VERSION) {
      throw new GeneralSecurityException("ciphertext blob is not a version-1 wrapped data key of " + BLOB_BYTES + " bytes");
    }
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(Cipher.DECRYPT_MODE, kek, new GCMParameterSpec(128, Arrays.copyOfRange(blob, 1, 1 + NONCE)));
    c.updateAAD(aad(keyId, context));
    try {
      return c.doFinal(blob, 1 + NONCE, blob.length - 1 - NONCE);
    } catch (AEADBadTagException e) {
      throw new GeneralSecurityException("ciphertext blob does not unwrap under key " + keyId
          + " with this encryption context", e);
    }
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

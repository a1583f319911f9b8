package org.cloister.trust.aead;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM with a 96-bit nonce and a 128-bit tag, through the JDK (the processor's AES and
 * carry-less multiply instructions). Used for model envelopes: the weights under a per-version
 * content key, and that key under a key broker's data key.
 */
public final class AesGcm {
  /** Key size in bytes. */
  public static final int KEY_BYTES = 32;
  /** Nonce size in bytes. */
  public static final int NONCE_BYTES = 12;
  /** Tag size in bytes. */
  public static final int TAG_BYTES = 16;

  private AesGcm() {
  }

  /** A fresh random key or nonce of {@code n} bytes. */
  public static byte[] random(SecureRandom random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  /** Encrypts {@code plaintext}, authenticating {@code aad}; returns ciphertext || tag. */
  public static byte[] seal(byte[] key, byte[] nonce, byte[] aad, byte[] plaintext) {
    check(key, nonce);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BYTES * 8, nonce));
      c.updateAAD(aad);
      return c.doFinal(plaintext);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable: " + e.getMessage(), e);
    }
  }

  /**
   * Decrypts and authenticates ciphertext || tag.
   *
   * @throws AEADBadTagException if the key, nonce, aad or ciphertext differ from what was sealed
   */
  public static byte[] open(byte[] key, byte[] nonce, byte[] aad, byte[] ciphertext) throws AEADBadTagException {
    check(key, nonce);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BYTES * 8, nonce));
      c.updateAAD(aad);
      return c.doFinal(ciphertext);
    } catch (AEADBadTagException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable: " + e.getMessage(), e);
    }
  }

  private static void check(byte[] key, byte[] nonce) {
    if (key == null || key.length != KEY_BYTES) {
      throw new IllegalArgumentException("AES-256-GCM key must be " + KEY_BYTES + " bytes, got "
          + (key == null ? "null" : key.length));
    }
    if (nonce == null || nonce.length != NONCE_BYTES) {
      throw new IllegalArgumentException("AES-GCM nonce must be " + NONCE_BYTES + " bytes, got "
          + (nonce == null ? "null" : nonce.length));
    }
  }
}

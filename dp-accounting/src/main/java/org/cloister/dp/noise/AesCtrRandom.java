package org.cloister.dp.noise;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A cryptographically secure stream of 64-bit words: the AES-256 keystream in counter mode
 * (JDK provider, AES-NI accelerated where available), rekeyed after every buffer with "fast key
 * erasure" (Bernstein 2017): each refill produces one buffer plus 32 bytes that become the next
 * key, so a later compromise of the state does not reveal earlier output. Deterministic for a
 * given key. Not thread-safe.
 */
final class AesCtrRandom {

  private static final int BUFFER_BYTES = 1 << 16;
  private static final int KEY_BYTES = 32;
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final byte[] ZEROS = new byte[BUFFER_BYTES + KEY_BYTES];
  private static final IvParameterSpec ZERO_COUNTER = new IvParameterSpec(new byte[16]);

  private final Cipher cipher;
  private final byte[] stream = new byte[BUFFER_BYTES + KEY_BYTES];
  private final byte[] key;
  private int position = BUFFER_BYTES; // forces a refill on first use

  AesCtrRandom(byte[] key) {
    if (key.length != KEY_BYTES) {
      throw new IllegalArgumentException("AES-256 key must be 32 bytes, got " + key.length);
    }
    this.key = key.clone();
    try {
      this.cipher = Cipher.getInstance("AES/CTR/NoPadding");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES/CTR is not available in this JDK", e);
    }
  }

  long nextLong() {
    if (position == BUFFER_BYTES) {
      refill();
    }
    long v = (long) LONGS.get(stream, position);
    position += 8;
    return v;
  }

  private void refill() {
    try {
      cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), ZERO_COUNTER);
      int n = cipher.update(ZEROS, 0, ZEROS.length, stream, 0);
      if (n != ZEROS.length) {
        throw new IllegalStateException("short AES-CTR output: " + n);
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-CTR failed", e);
    }
    System.arraycopy(stream, BUFFER_BYTES, key, 0, KEY_BYTES);
    Arrays.fill(stream, BUFFER_BYTES, stream.length, (byte) 0);
    position = 0;
  }
}

package org.cloister.dp.noise;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A cryptographically secure stream of 64-bit words: the AES-256 keystream in counter mode
 * (JDK provider, AES-NI accelerated where available), rekeyed after every epoch of
 * {@value #EPOCH_BYTES} bytes with "fast key erasure" (Bernstein 2017): each key produces one
 * epoch of output plus 32 bytes that become the next key, and is then overwritten, so a later
 * compromise of the state does not reveal earlier epochs. Deterministic for a given key.
 * Not thread-safe.
 *
 * <p>An epoch's keystream is generated {@value #CHUNK_BYTES} bytes at a time (counter mode can
 * start at any block), so a generator holds 4 KiB of keystream instead of the whole 64 KiB epoch:
 * thousands of virtual sites each keep their own stream between rounds. The output is the same
 * byte for byte as generating the epoch at once. Holding the epoch's key until its end exposes no
 * more than holding the epoch's buffer did: either reveals that epoch's output, and nothing earlier.
 */
final class AesCtrRandom {

  static final int EPOCH_BYTES = 1 << 16;
  static final int CHUNK_BYTES = 1 << 12;
  private static final int KEY_BYTES = 32;
  private static final int BLOCK_BYTES = 16;
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final byte[] ZEROS = new byte[CHUNK_BYTES];

  private final Cipher cipher;
  private final byte[] chunk = new byte[CHUNK_BYTES];
  private final byte[] key;
  private int epochOffset; // keystream bytes of the current key generated so far
  private int position = CHUNK_BYTES; // forces a chunk on first use

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
    if (position == CHUNK_BYTES) {
      nextChunk();
    }
    long v = (long) LONGS.get(chunk, position);
    position += 8;
    return v;
  }

  private void nextChunk() {
    if (epochOffset == EPOCH_BYTES) {
      // the 32 bytes after the epoch become the next key, over the current one (fast key erasure)
      keystream(EPOCH_BYTES, key, KEY_BYTES);
      epochOffset = 0;
    }
    keystream(epochOffset, chunk, CHUNK_BYTES);
    epochOffset += CHUNK_BYTES;
    position = 0;
  }

  /** {@code length} bytes of the current key's keystream from byte {@code offset} (a block boundary) into {@code out}. */
  private void keystream(int offset, byte[] out, int length) {
    byte[] counter = new byte[BLOCK_BYTES];
    int block = offset / BLOCK_BYTES; // the 128-bit big-endian counter of that block
    counter[12] = (byte) (block >>> 24);
    counter[13] = (byte) (block >>> 16);
    counter[14] = (byte) (block >>> 8);
    counter[15] = (byte) block;
    try {
      cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(counter));
      int n = cipher.update(ZEROS, 0, length, out, 0);
      if (n != length) {
        throw new IllegalStateException("short AES-CTR output: " + n);
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-CTR failed", e);
    }
  }
}

package org.cloister.trust.aead;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM with a 96-bit nonce and a 128-bit tag, through the JDK (the processor's AES and
 * carry-less multiply instructions): the one AES-GCM path of Cloister. HPKE's AEAD
 * ({@link org.cloister.trust.hpke.Hpke}), model envelopes (the weights under a per-version content
 * key, that key under a key broker's data key), the broker's data keys under its key-encryption key
 * ({@link #wrapKey}) and inference replies all go through it.
 *
 * <p>Stateless and thread-safe: every call uses its own {@link Cipher}. Keys are copied into the
 * JDK's {@link SecretKeySpec}; the caller clears its own arrays.
 */
public final class AesGcm {
  /** Key size in bytes. */
  public static final int KEY_BYTES = 32;
  /** Nonce size in bytes. */
  public static final int NONCE_BYTES = 12;
  /** Tag size in bytes. */
  public static final int TAG_BYTES = 16;
  /** Plaintext bytes per segment of the streaming form. */
  public static final int SEGMENT_BYTES = 4096;

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
    byte[] out = new byte[plaintext.length + TAG_BYTES];
    seal(key, nonce, aad, plaintext, 0, plaintext.length, out, 0);
    return out;
  }

  /**
   * Encrypts {@code in[inOff, inOff+inLen)} into {@code out[outOff...]} (ciphertext || tag,
   * {@code inLen + TAG_BYTES} bytes), authenticating {@code aad} (null = empty).
   *
   * @return bytes written
   */
  public static int seal(byte[] key, byte[] nonce, byte[] aad, byte[] in, int inOff, int inLen, byte[] out,
                         int outOff) {
    try {
      return cipher(Cipher.ENCRYPT_MODE, key, nonce, aad).doFinal(in, inOff, inLen, out, outOff);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable: " + e.getMessage(), e);
    }
  }

  /**
   * Decrypts and authenticates {@code in[inOff, inOff+inLen)} = ciphertext || tag into
   * {@code out[outOff...]}; nothing is written unless the tag verifies.
   *
   * @return the plaintext length
   * @throws AEADBadTagException if the key, nonce, aad or ciphertext differ from what was sealed
   */
  public static int open(byte[] key, byte[] nonce, byte[] aad, byte[] in, int inOff, int inLen, byte[] out,
                         int outOff) throws AEADBadTagException {
    if (inLen < TAG_BYTES) {
      throw new AEADBadTagException("an AES-GCM message is at least its " + TAG_BYTES + "-byte tag, got " + inLen);
    }
    try {
      return cipher(Cipher.DECRYPT_MODE, key, nonce, aad).doFinal(in, inOff, inLen, out, outOff);
    } catch (AEADBadTagException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable: " + e.getMessage(), e);
    }
  }

  // ------------------------------------------------------------------ key wrapping

  /** Length of a wrapped {@code keyLength}-byte key: nonce, the key, tag. */
  public static int wrappedLength(int keyLength) {
    return NONCE_BYTES + keyLength + TAG_BYTES;
  }

  /**
   * Wraps {@code key} under {@code kek}: {@code nonce (12, fresh from random) || AES-256-GCM(kek,
   * nonce, aad, key) || tag (16)}. The aad binds what the key is for, so a wrapped key only
   * unwraps in the same context.
   */
  public static byte[] wrapKey(byte[] kek, byte[] aad, byte[] key, SecureRandom random) {
    byte[] out = new byte[wrappedLength(key.length)];
    byte[] nonce = random(random, NONCE_BYTES);
    System.arraycopy(nonce, 0, out, 0, NONCE_BYTES);
    seal(kek, nonce, aad, key, 0, key.length, out, NONCE_BYTES);
    return out;
  }

  /**
   * Unwraps a key made by {@link #wrapKey} under the same {@code kek} and {@code aad}.
   *
   * @throws AEADBadTagException if it was wrapped under another key or aad, or altered
   */
  public static byte[] unwrapKey(byte[] kek, byte[] aad, byte[] wrapped) throws AEADBadTagException {
    if (wrapped == null || wrapped.length < NONCE_BYTES + TAG_BYTES) {
      throw new AEADBadTagException("a wrapped key is at least nonce (12) + tag (16) bytes, got "
          + (wrapped == null ? "null" : wrapped.length));
    }
    byte[] nonce = java.util.Arrays.copyOf(wrapped, NONCE_BYTES);
    byte[] key = new byte[wrapped.length - NONCE_BYTES - TAG_BYTES];
    try {
      open(kek, nonce, aad, wrapped, NONCE_BYTES, wrapped.length - NONCE_BYTES, key, 0);
      return key;
    } catch (AEADBadTagException | RuntimeException e) {
      java.util.Arrays.fill(key, (byte) 0);
      throw e;
    }
  }

  /**
   * Decrypts and authenticates ciphertext || tag.
   *
   * @throws AEADBadTagException if the key, nonce, aad or ciphertext differ from what was sealed
   */
  public static byte[] open(byte[] key, byte[] nonce, byte[] aad, byte[] ciphertext) throws AEADBadTagException {
    if (ciphertext.length < TAG_BYTES) {
      throw new AEADBadTagException("an AES-GCM message is at least its " + TAG_BYTES + "-byte tag, got "
          + ciphertext.length);
    }
    byte[] out = new byte[ciphertext.length - TAG_BYTES];
    open(key, nonce, aad, ciphertext, 0, ciphertext.length, out, 0);
    return out;
  }

  // ------------------------------------------------------------------ streaming (segmented) form

  /**
   * Number of segments for a plaintext of {@code length} bytes (at least one, so an empty message
   * still carries a tag).
   */
  public static int segments(int length) {
    return Math.max(1, (length + SEGMENT_BYTES - 1) / SEGMENT_BYTES);
  }

  /** Length of the streaming form of a {@code length}-byte plaintext. */
  public static int streamLength(int length) {
    return length + TAG_BYTES * segments(length);
  }

  /** Plaintext length of a {@code sealedLength}-byte streaming message, or -1 if no plaintext has that form. */
  public static int streamPlaintextLength(int sealedLength) {
    if (sealedLength < TAG_BYTES) {
      return -1;
    }
    int n = (sealedLength + SEGMENT_BYTES + TAG_BYTES - 1) / (SEGMENT_BYTES + TAG_BYTES);
    int plain = sealedLength - n * TAG_BYTES;
    return plain >= 0 && segments(plain) == n ? plain : -1;
  }

  /**
   * The streaming form (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizar, as
   * RFC 9180's multi-message context does it): segment {@code i} of {@link #SEGMENT_BYTES}
   * plaintext bytes is sealed with nonce {@code baseNonce XOR I2OSP(i, 12)} and associated data
   * {@code aad || final}, where {@code final} is 1 for the last segment and 0 otherwise, so
   * reordering, dropping, truncating or extending segments fails authentication. The JDK's
   * AES-GCM runs on its processor-instruction path for segments this size, where it is several
   * times faster than on one multi-megabyte call.
   *
   * @return bytes written to {@code out} ({@link #streamLength})
   */
  public static int sealStream(byte[] key, byte[] baseNonce, byte[] aad, byte[] in, int inOff, int inLen, byte[] out,
                               int outOff) {
    check(key, baseNonce);
    try {
      Segments seg = new Segments(key, baseNonce, aad);
      int n = segments(inLen);
      int o = outOff;
      for (int i = 0; i < n; i++) {
        int from = inOff + i * SEGMENT_BYTES;
        int len = Math.min(SEGMENT_BYTES, inLen - i * SEGMENT_BYTES);
        Cipher c = seg.start(Cipher.ENCRYPT_MODE, i, n);
        o += c.doFinal(in, from, len, out, o);
      }
      return o - outOff;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable: " + e.getMessage(), e);
    }
  }

  /** Writes the plaintext of a streaming message one segment at a time (see {@link #sealStream(byte[], byte[], byte[], int, SegmentSource, byte[], int)}). */
  @FunctionalInterface
  public interface SegmentSource {
    /** Writes plaintext bytes {@code [position, position+len)} of the message into {@code buffer[0, len)}. */
    void fill(byte[] buffer, int len, int position);
  }

  /**
   * As {@link #sealStream(byte[], byte[], byte[], byte[], int, int, byte[], int)} for a {@code length}-byte plaintext
   * that {@code source} writes one segment at a time into a scratch buffer of {@link #SEGMENT_BYTES} (e.g. floats
   * encoded while cache-hot, with no whole encoded copy); the same bytes out. The scratch buffer is wiped before
   * returning.
   *
   * @return bytes written to {@code out} ({@link #streamLength})
   */
  public static int sealStream(byte[] key, byte[] baseNonce, byte[] aad, int length, SegmentSource source, byte[] out,
                               int outOff) {
    check(key, baseNonce);
    byte[] scratch = new byte[SEGMENT_BYTES];
    try {
      Segments seg = new Segments(key, baseNonce, aad);
      int n = segments(length);
      int o = outOff;
      for (int i = 0; i < n; i++) {
        int len = Math.min(SEGMENT_BYTES, length - i * SEGMENT_BYTES);
        source.fill(scratch, len, i * SEGMENT_BYTES);
        Cipher c = seg.start(Cipher.ENCRYPT_MODE, i, n);
        o += c.doFinal(scratch, 0, len, out, o);
      }
      return o - outOff;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable: " + e.getMessage(), e);
    } finally {
      java.util.Arrays.fill(scratch, (byte) 0);
    }
  }

  /** Seals {@code plaintext} in the streaming form; see {@link #sealStream(byte[], byte[], byte[], byte[], int, int, byte[], int)}. */
  public static byte[] sealStream(byte[] key, byte[] baseNonce, byte[] aad, byte[] plaintext) {
    byte[] out = new byte[streamLength(plaintext.length)];
    sealStream(key, baseNonce, aad, plaintext, 0, plaintext.length, out, 0);
    return out;
  }

  /**
   * Opens the streaming form of {@code in[inOff, inOff+inLen)} into {@code out[outOff...]}.
   *
   * @return the plaintext length
   * @throws AEADBadTagException if any segment fails to authenticate, or the length is not a
   *     streaming message's
   */
  public static int openStream(byte[] key, byte[] baseNonce, byte[] aad, byte[] in, int inOff, int inLen, byte[] out,
                               int outOff) throws AEADBadTagException {
    check(key, baseNonce);
    int plain = streamPlaintextLength(inLen);
    if (plain < 0) {
      throw new AEADBadTagException("a streaming AES-GCM message cannot be " + inLen + " bytes long");
    }
    boolean ok = false;
    try {
      Segments seg = new Segments(key, baseNonce, aad);
      int n = segments(plain);
      int from = inOff;
      int o = outOff;
      for (int i = 0; i < n; i++) {
        int len = Math.min(SEGMENT_BYTES, plain - i * SEGMENT_BYTES) + TAG_BYTES;
        Cipher c = seg.start(Cipher.DECRYPT_MODE, i, n);
        o += c.doFinal(in, from, len, out, o);
        from += len;
      }
      ok = true;
      return o - outOff;
    } catch (AEADBadTagException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable: " + e.getMessage(), e);
    } finally {
      if (!ok) { // segments before the one that failed were written: leave no plaintext of a refused message
        java.util.Arrays.fill(out, outOff, Math.min(out.length, outOff + plain), (byte) 0);
      }
    }
  }

  /** Receives the plaintext of a streaming message one authenticated segment at a time. */
  @FunctionalInterface
  public interface SegmentSink {
    /**
     * Segment {@code plain[off, off+len)}, which starts at byte {@code position} of the message's plaintext. The
     * array is a scratch buffer, overwritten by the next segment and wiped after the last.
     */
    void accept(byte[] plain, int off, int len, int position);
  }

  /**
   * Opens the streaming form of {@code in[inOff, inOff+inLen)} one segment at a time: each segment is decrypted
   * into a scratch buffer of {@link #SEGMENT_BYTES} and handed to {@code sink} once it authenticated, in order,
   * while its bytes are still in cache (so a caller can hash and decode in the same pass instead of three passes
   * over the whole plaintext). A segment that fails to authenticate ends the call with
   * {@link AEADBadTagException} after the segments before it were handed over: the caller must then discard
   * everything the sink made of them. The scratch buffer is wiped before returning either way.
   *
   * @return the plaintext length
   */
  public static int openStream(byte[] key, byte[] baseNonce, byte[] aad, byte[] in, int inOff, int inLen,
                               SegmentSink sink) throws AEADBadTagException {
    check(key, baseNonce);
    int plain = streamPlaintextLength(inLen);
    if (plain < 0) {
      throw new AEADBadTagException("a streaming AES-GCM message cannot be " + inLen + " bytes long");
    }
    byte[] scratch = new byte[SEGMENT_BYTES + TAG_BYTES];
    try {
      Segments seg = new Segments(key, baseNonce, aad);
      int n = segments(plain);
      int from = inOff;
      int position = 0;
      for (int i = 0; i < n; i++) {
        int len = Math.min(SEGMENT_BYTES, plain - i * SEGMENT_BYTES) + TAG_BYTES;
        Cipher c = seg.start(Cipher.DECRYPT_MODE, i, n);
        int got = c.doFinal(in, from, len, scratch, 0);
        sink.accept(scratch, 0, got, position);
        position += got;
        from += len;
      }
      return position;
    } catch (AEADBadTagException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable: " + e.getMessage(), e);
    } finally {
      java.util.Arrays.fill(scratch, (byte) 0);
    }
  }

  /** Opens a whole streaming message. */
  public static byte[] openStream(byte[] key, byte[] baseNonce, byte[] aad, byte[] sealed) throws AEADBadTagException {
    int plain = streamPlaintextLength(sealed.length);
    if (plain < 0) {
      throw new AEADBadTagException("a streaming AES-GCM message cannot be " + sealed.length + " bytes long");
    }
    byte[] out = new byte[plain];
    openStream(key, baseNonce, aad, sealed, 0, sealed.length, out, 0);
    return out;
  }

  /**
   * The per-message state of the streaming form, made once per message: one {@link Cipher}, the key, a nonce
   * buffer (reused: {@link GCMParameterSpec} copies it) and the two segment AADs ({@code aad || 0} and
   * {@code aad || 1}).
   */
  private static final class Segments {
    private final Cipher cipher;
    private final SecretKeySpec key;
    private final byte[] baseNonce;
    private final byte[] nonce = new byte[NONCE_BYTES];
    private final byte[] midAad;
    private final byte[] lastAad;

    Segments(byte[] key, byte[] baseNonce, byte[] aad) throws GeneralSecurityException {
      this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
      this.key = new SecretKeySpec(key, "AES");
      this.baseNonce = baseNonce;
      this.midAad = segmentAad(aad, false);
      this.lastAad = segmentAad(aad, true);
    }

    /** The cipher, initialised for segment {@code i} of {@code n}: its nonce and its final flag. */
    Cipher start(int mode, int i, int n) throws GeneralSecurityException {
      cipher.init(mode, key, new GCMParameterSpec(TAG_BYTES * 8, segmentNonce(baseNonce, i, nonce)));
      cipher.updateAAD(i == n - 1 ? lastAad : midAad);
      return cipher;
    }
  }

  /** RFC 9180 ComputeNonce: the base nonce XOR the big-endian sequence number. */
  static byte[] segmentNonce(byte[] baseNonce, int seq) {
    return segmentNonce(baseNonce, seq, new byte[NONCE_BYTES]);
  }

  /** As {@link #segmentNonce(byte[], int)}, written into {@code into}. */
  private static byte[] segmentNonce(byte[] baseNonce, int seq, byte[] into) {
    System.arraycopy(baseNonce, 0, into, 0, NONCE_BYTES);
    byte[] n = into;
    n[NONCE_BYTES - 4] ^= (byte) (seq >>> 24);
    n[NONCE_BYTES - 3] ^= (byte) (seq >>> 16);
    n[NONCE_BYTES - 2] ^= (byte) (seq >>> 8);
    n[NONCE_BYTES - 1] ^= (byte) seq;
    return n;
  }

  private static byte[] segmentAad(byte[] aad, boolean last) {
    byte[] a = java.util.Arrays.copyOf(aad == null ? new byte[0] : aad, (aad == null ? 0 : aad.length) + 1);
    a[a.length - 1] = (byte) (last ? 1 : 0);
    return a;
  }

  private static Cipher cipher(int mode, byte[] key, byte[] nonce, byte[] aad) throws GeneralSecurityException {
    check(key, nonce);
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BYTES * 8, nonce));
    if (aad != null && aad.length > 0) {
      c.updateAAD(aad);
    }
    return c;
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

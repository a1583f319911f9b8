package org.cloister.trust.hpke;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.cloister.trust.aead.AesGcm;

/**
 * Single-shot HPKE (RFC 9180) mode_base with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
 * AES-256-GCM — the same suite and wire form ({@code enc || ciphertext}) as
 * {@link org.cloister.trust.hpke.Hpke}, with the AEAD done by the JDK's AES-GCM (which uses the
 * processor's AES and carry-less multiply instructions) so that the enclave decrypts updates at
 * close to raw AES-GCM speed. X25519 is BouncyCastle's; the key schedule (RFC 9180 sections 4 and
 * 5.1) is written out here and checked against the RFC's test vectors and against BouncyCastle's
 * HPKE in both directions.
 *
 * <p>{@link #sealAndExport} / {@link #openAndExport} also export a secret from the message's context
 * (RFC 9180 section 5.3), e.g. a key for the reply.
 *
 * <p>Instances hold no keys and are not thread-safe (they reuse one {@link Cipher} and {@link Mac}).
 */
public final class FastHpke {
  /** X25519 key and {@code enc} size. */
  public static final int KEY_BYTES = 32;
  /** AES-GCM tag size. */
  public static final int TAG_BYTES = 16;
  /** Bytes a sealed message adds to its plaintext. */
  public static final int OVERHEAD = KEY_BYTES + TAG_BYTES;

  private static final int KEM_ID = 0x0020;
  private static final int KDF_ID = 0x0001;
  private static final int AEAD_AES_256_GCM = 0x0002;
  private static final int NN = 12;
  private static final int NH = 32;
  private static final byte MODE_BASE = 0x00;
  private static final byte[] VERSION = ascii("HPKE-v1");
  private static final byte[] KEM_SUITE = concat(ascii("KEM"), i2osp2(KEM_ID));
  private static final byte[] ZERO_SALT = new byte[NH];

  private final byte[] hpkeSuite;
  private final int nk;
  private final Mac hmac;
  private final Cipher gcm;
  /** Sees every array of secret key material this instance makes (tests check each is zero afterwards). */
  private final Consumer<byte[]> secrets;

  public FastHpke() {
    this(AEAD_AES_256_GCM, 32);
  }

  /** Another AES-GCM AEAD of the same KEM and KDF (aead_id 1 = AES-128-GCM): for RFC 9180 Appendix A.1 vectors. */
  FastHpke(int aeadId, int keyLength) {
    this(aeadId, keyLength, b -> { });
  }

  /** For tests: {@code secrets} is shown every secret array made (ephemeral and DH values, PRKs, keys, nonces). */
  FastHpke(Consumer<byte[]> secrets) {
    this(AEAD_AES_256_GCM, 32, secrets);
  }

  private FastHpke(int aeadId, int keyLength, Consumer<byte[]> secrets) {
    this.secrets = Objects.requireNonNull(secrets, "secrets");
    this.hpkeSuite = concat(ascii("HPKE"), i2osp2(KEM_ID), i2osp2(KDF_ID), i2osp2(aeadId));
    this.nk = keyLength;
    try {
      this.hmac = Mac.getInstance("HmacSHA256");
      this.gcm = Cipher.getInstance("AES/GCM/NoPadding");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 or AES/GCM/NoPadding unavailable in this JDK", e);
    }
  }

  /** The AEAD key, base nonce and exporter secret of one HPKE context (single-shot: sequence number 0). */
  record AeadKey(byte[] key, byte[] nonce, byte[] exporterSecret) {
    void destroy() {
      Arrays.fill(key, (byte) 0);
      Arrays.fill(nonce, (byte) 0);
      Arrays.fill(exporterSecret, (byte) 0);
    }
  }

  private byte[] secret(byte[] b) {
    secrets.accept(b);
    return b;
  }

  /**
   * Opens {@code message[off, off+len)} = {@code enc || ciphertext} sealed to {@code recipient},
   * writing the plaintext ({@code len - OVERHEAD} bytes) to {@code out[outOff...]}.
   *
   * @return the plaintext length
   * @throws HpkeException when the message is too short, enc is not a valid X25519 key, or the tag
   *     does not verify (wrong key, or enc, info, aad or ciphertext altered)
   */
  public int open(HpkeKeyPair recipient, byte[] message, int off, int len, byte[] info, byte[] aad, byte[] out,
                  int outOff) throws HpkeException {
    return open(recipient, message, off, len, info, aad, out, outOff, null, null);
  }

  /**
   * As {@link #open(HpkeKeyPair, byte[], byte[], byte[])}, and exports {@code length} (16..32)
   * bytes under {@code exporterContext} from the message's context: the secret the sender got from
   * {@link #sealAndExport}.
   */
  public Hpke.OpenedWithSecret openAndExport(HpkeKeyPair recipient, byte[] message, byte[] info, byte[] aad,
                                             byte[] exporterContext, int length) throws HpkeException {
    checkExport(exporterContext, length);
    if (message.length < OVERHEAD) {
      throw new HpkeException("HPKE message is " + message.length + " bytes, shorter than enc (32) + tag (16)");
    }
    byte[] out = new byte[message.length - OVERHEAD];
    byte[][] secret = new byte[1][];
    open(recipient, message, 0, message.length, info, aad, out, 0, exporterContext, k -> secret[0] = export(k,
        exporterContext, length));
    return new Hpke.OpenedWithSecret(out, secret[0]);
  }

  @FunctionalInterface
  private interface Exporter {
    void accept(AeadKey k) throws GeneralSecurityException;
  }

  private int open(HpkeKeyPair recipient, byte[] message, int off, int len, byte[] info, byte[] aad, byte[] out,
                   int outOff, byte[] exporterContext, Exporter exporter) throws HpkeException {
    Objects.requireNonNull(recipient, "recipient");
    if (len < OVERHEAD) {
      throw new HpkeException("HPKE message is " + len + " bytes, shorter than enc (32) + tag (16)");
    }
    AeadKey k = null;
    try {
      k = receiverKey(recipient, message, off, info);
      gcm.init(Cipher.DECRYPT_MODE, new SecretKeySpec(k.key(), "AES"), new GCMParameterSpec(128, k.nonce()));
      if (aad != null && aad.length > 0) {
        gcm.updateAAD(aad);
      }
      int n = gcm.doFinal(message, off + KEY_BYTES, len - KEY_BYTES, out, outOff);
      if (exporter != null) {
        exporter.accept(k);
      }
      return n;
    } catch (AEADBadTagException e) {
      throw new HpkeException("HPKE open failed: authentication tag mismatch (wrong recipient key, "
          + "or enc, info, aad or ciphertext altered)", e);
    } catch (GeneralSecurityException e) {
      if (e instanceof HpkeException he) {
        throw he;
      }
      throw new HpkeException("HPKE open failed: " + e.getMessage(), e);
    } finally {
      if (k != null) {
        k.destroy();
      }
    }
  }

  /** The receiver's AEAD key and base nonce for the {@code enc} at {@code message[off...]}. */
  private AeadKey receiverKey(HpkeKeyPair recipient, byte[] message, int off, byte[] info)
      throws GeneralSecurityException {
    byte[] enc = Arrays.copyOfRange(message, off, off + KEY_BYTES);
    byte[] skR = secret(recipient.privateKey());
    byte[] dh = secret(new byte[KEY_BYTES]);
    try {
      if (!X25519.calculateAgreement(skR, 0, enc, 0, dh, 0)) {
        throw new HpkeException("HPKE open failed: invalid encapsulated key enc (X25519 result is zero)");
      }
      return keySchedule(extractAndExpand(dh, concat(enc, recipient.publicKey())), info);
    } finally {
      Arrays.fill(skR, (byte) 0);
      Arrays.fill(dh, (byte) 0);
    }
  }

  /** Opens a whole message; see {@link #open(HpkeKeyPair, byte[], int, int, byte[], byte[], byte[], int)}. */
  public byte[] open(HpkeKeyPair recipient, byte[] message, byte[] info, byte[] aad) throws HpkeException {
    if (message.length < OVERHEAD) {
      throw new HpkeException("HPKE message is " + message.length + " bytes, shorter than enc (32) + tag (16)");
    }
    byte[] out = new byte[message.length - OVERHEAD];
    open(recipient, message, 0, message.length, info, aad, out, 0);
    return out;
  }

  /** Seals {@code plaintext} to {@code recipientPublicKey} with a fresh ephemeral key: {@code enc || ciphertext}. */
  public byte[] seal(byte[] recipientPublicKey, byte[] info, byte[] aad, byte[] plaintext, SecureRandom random)
      throws HpkeException {
    byte[] skE = secret(new byte[KEY_BYTES]);
    X25519.generatePrivateKey(random, skE);
    try {
      return seal(recipientPublicKey, info, aad, plaintext, skE);
    } finally {
      Arrays.fill(skE, (byte) 0);
    }
  }

  /**
   * As {@link #seal(byte[], byte[], byte[], byte[], SecureRandom)}, and exports {@code length}
   * (16..32) bytes under {@code exporterContext} from the message's context (RFC 9180 section 5.3).
   */
  public Hpke.SealedWithSecret sealAndExport(byte[] recipientPublicKey, byte[] info, byte[] aad, byte[] plaintext,
                                             byte[] exporterContext, int length, SecureRandom random)
      throws HpkeException {
    checkExport(exporterContext, length);
    byte[] skE = secret(new byte[KEY_BYTES]);
    X25519.generatePrivateKey(random, skE);
    byte[][] secret = new byte[1][];
    try {
      byte[] sealed = seal(recipientPublicKey, info, aad, plaintext, skE, k -> secret[0] = export(k, exporterContext,
          length));
      return new Hpke.SealedWithSecret(HpkeCiphertext.fromBytes(sealed), secret[0]);
    } finally {
      Arrays.fill(skE, (byte) 0);
    }
  }

  private static void checkExport(byte[] exporterContext, int length) {
    Objects.requireNonNull(exporterContext, "exporterContext");
    if (length < 16 || length > NH) {
      throw new IllegalArgumentException("exported secret length must be 16.." + NH + " bytes, got " + length);
    }
  }

  /** Export(exporter_context, L) of RFC 9180 section 5.3. */
  private byte[] export(AeadKey k, byte[] exporterContext, int length) throws GeneralSecurityException {
    byte[] mine = labeledExpand(hpkeSuite, k.exporterSecret(), "sec", exporterContext, length);
    try {
      return mine.clone(); // the caller's to keep (and clear)
    } finally {
      Arrays.fill(mine, (byte) 0);
    }
  }

  /** As {@link #seal(byte[], byte[], byte[], byte[], SecureRandom)} with a given ephemeral private key (test vectors). */
  byte[] seal(byte[] pkR, byte[] info, byte[] aad, byte[] plaintext, byte[] skE) throws HpkeException {
    return seal(pkR, info, aad, plaintext, skE, null);
  }

  private byte[] seal(byte[] pkR, byte[] info, byte[] aad, byte[] plaintext, byte[] skE, Exporter exporter)
      throws HpkeException {
    if (pkR == null || pkR.length != KEY_BYTES) {
      throw new HpkeException("recipient public key must be 32 bytes (raw X25519)");
    }
    byte[] enc = new byte[KEY_BYTES];
    X25519.generatePublicKey(skE, 0, enc, 0);
    byte[] dh = secret(new byte[KEY_BYTES]);
    AeadKey k = null;
    try {
      if (!X25519.calculateAgreement(skE, 0, pkR, 0, dh, 0)) {
        throw new HpkeException("HPKE seal failed: invalid recipient public key (X25519 result is zero)");
      }
      k = keySchedule(extractAndExpand(dh, concat(enc, pkR)), info);
      gcm.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(k.key(), "AES"), new GCMParameterSpec(128, k.nonce()));
      if (aad != null && aad.length > 0) {
        gcm.updateAAD(aad);
      }
      byte[] out = Arrays.copyOf(enc, KEY_BYTES + plaintext.length + TAG_BYTES);
      gcm.doFinal(plaintext, 0, plaintext.length, out, KEY_BYTES);
      if (exporter != null) {
        exporter.accept(k);
      }
      return out;
    } catch (GeneralSecurityException e) {
      if (e instanceof HpkeException he) {
        throw he;
      }
      throw new HpkeException("HPKE seal failed: " + e.getMessage(), e);
    } finally {
      if (k != null) {
        k.destroy();
      }
      Arrays.fill(dh, (byte) 0);
    }
  }

  // ------------------------------------------------------------------ streaming form for large payloads

  /** Bytes the streaming form adds to a {@code length}-byte plaintext (enc and one tag per segment). */
  public static int streamOverhead(int length) {
    return KEY_BYTES + AesGcm.streamLength(length) - length;
  }

  /** Plaintext length of a {@code messageLength}-byte streaming message, or -1 if none has that length. */
  public static int streamPlaintextLength(int messageLength) {
    return messageLength < KEY_BYTES ? -1 : AesGcm.streamPlaintextLength(messageLength - KEY_BYTES);
  }

  /**
   * Seals a large {@code plaintext}: {@code enc ||} the RFC 9180 context's messages 0, 1, ... of
   * {@link AesGcm#SEGMENT_BYTES} each, sealed with the context's key and nonces and associated data
   * {@code aad || final-flag} ({@link AesGcm#sealStream}). Equivalent to calling
   * {@code ContextS.Seal} once per segment, so any RFC 9180 implementation can open it; much
   * faster than one multi-megabyte AEAD call on the JDK.
   */
  public byte[] sealStream(byte[] recipientPublicKey, byte[] info, byte[] aad, byte[] plaintext, SecureRandom random)
      throws HpkeException {
    if (recipientPublicKey == null || recipientPublicKey.length != KEY_BYTES) {
      throw new HpkeException("recipient public key must be 32 bytes (raw X25519)");
    }
    byte[] skE = secret(new byte[KEY_BYTES]);
    X25519.generatePrivateKey(random, skE);
    byte[] enc = new byte[KEY_BYTES];
    X25519.generatePublicKey(skE, 0, enc, 0);
    byte[] dh = secret(new byte[KEY_BYTES]);
    AeadKey k = null;
    try {
      if (!X25519.calculateAgreement(skE, 0, recipientPublicKey, 0, dh, 0)) {
        throw new HpkeException("HPKE seal failed: invalid recipient public key (X25519 result is zero)");
      }
      k = keySchedule(extractAndExpand(dh, concat(enc, recipientPublicKey)), info);
      byte[] out = Arrays.copyOf(enc, KEY_BYTES + AesGcm.streamLength(plaintext.length));
      AesGcm.sealStream(k.key(), k.nonce(), aad, plaintext, 0, plaintext.length, out, KEY_BYTES);
      return out;
    } catch (GeneralSecurityException e) {
      if (e instanceof HpkeException he) {
        throw he;
      }
      throw new HpkeException("HPKE seal failed: " + e.getMessage(), e);
    } finally {
      if (k != null) {
        k.destroy();
      }
      Arrays.fill(skE, (byte) 0);
      Arrays.fill(dh, (byte) 0);
    }
  }

  /**
   * Opens a message made by {@link #sealStream} into {@code out[outOff...]}.
   *
   * @return the plaintext length
   * @throws HpkeException when the length is impossible, enc is invalid, or a segment does not
   *     authenticate (wrong key, or enc, info, aad or any segment altered, reordered or cut)
   */
  public int openStream(HpkeKeyPair recipient, byte[] message, int off, int len, byte[] info, byte[] aad, byte[] out,
                        int outOff) throws HpkeException {
    Objects.requireNonNull(recipient, "recipient");
    if (streamPlaintextLength(len) < 0) {
      throw new HpkeException("HPKE streaming message of " + len + " bytes has no valid length (enc + segments + tags)");
    }
    AeadKey k = null;
    try {
      k = receiverKey(recipient, message, off, info);
      return AesGcm.openStream(k.key(), k.nonce(), aad, message, off + KEY_BYTES, len - KEY_BYTES, out, outOff);
    } catch (AEADBadTagException e) {
      throw new HpkeException("HPKE open failed: authentication tag mismatch (wrong recipient key, "
          + "or enc, info, aad or a segment altered)", e);
    } catch (GeneralSecurityException e) {
      if (e instanceof HpkeException he) {
        throw he;
      }
      throw new HpkeException("HPKE open failed: " + e.getMessage(), e);
    } finally {
      if (k != null) {
        k.destroy();
      }
    }
  }

  // ------------------------------------------------------------------ RFC 9180 key schedule

  /** Decap (section 4.1) for tests: the KEM shared secret of {@code enc} for {@code recipient}. */
  byte[] sharedSecret(HpkeKeyPair recipient, byte[] enc) throws GeneralSecurityException {
    byte[] dh = new byte[KEY_BYTES];
    if (!X25519.calculateAgreement(recipient.privateKey(), 0, enc, 0, dh, 0)) {
      throw new HpkeException("X25519 result is zero");
    }
    return extractAndExpand(dh, concat(enc, recipient.publicKey()));
  }

  /** DHKEM ExtractAndExpand (section 4.1). */
  private byte[] extractAndExpand(byte[] dh, byte[] kemContext) throws GeneralSecurityException {
    byte[] eaePrk = secret(labeledExtract(KEM_SUITE, null, "eae_prk", dh));
    try {
      return labeledExpand(KEM_SUITE, eaePrk, "shared_secret", kemContext, NH);
    } finally {
      Arrays.fill(eaePrk, (byte) 0);
    }
  }

  /** KeySchedule for mode_base with an empty PSK (section 5.1). */
  AeadKey keySchedule(byte[] sharedSecret, byte[] info) throws GeneralSecurityException {
    byte[] pskIdHash = labeledExtract(hpkeSuite, null, "psk_id_hash", new byte[0]);
    byte[] infoHash = labeledExtract(hpkeSuite, null, "info_hash", info == null ? new byte[0] : info);
    byte[] context = concat(new byte[] {MODE_BASE}, pskIdHash, infoHash);
    byte[] secret = null;
    byte[] key = null;
    byte[] nonce = null;
    try {
      secret = secret(labeledExtract(hpkeSuite, sharedSecret, "secret", new byte[0]));
      key = labeledExpand(hpkeSuite, secret, "key", context, nk);
      nonce = labeledExpand(hpkeSuite, secret, "base_nonce", context, NN);
      AeadKey k = new AeadKey(key, nonce, labeledExpand(hpkeSuite, secret, "exp", context, NH));
      key = null; // now the caller's, cleared by AeadKey.destroy
      nonce = null;
      return k;
    } finally {
      for (byte[] b : new byte[][] {secret, key, nonce, sharedSecret}) {
        if (b != null) {
          Arrays.fill(b, (byte) 0);
        }
      }
    }
  }

  private byte[] labeledExtract(byte[] suite, byte[] salt, String label, byte[] ikm) throws GeneralSecurityException {
    hmac.init(new SecretKeySpec(salt == null || salt.length == 0 ? ZERO_SALT : salt, "HmacSHA256"));
    hmac.update(VERSION);
    hmac.update(suite);
    hmac.update(ascii(label));
    hmac.update(ikm);
    return hmac.doFinal();
  }

  private byte[] labeledExpand(byte[] suite, byte[] prk, String label, byte[] info, int length)
      throws GeneralSecurityException {
    if (length > NH) {
      throw new IllegalArgumentException("single-block expand only");
    }
    hmac.init(new SecretKeySpec(prk, "HmacSHA256"));
    hmac.update(i2osp2(length));
    hmac.update(VERSION);
    hmac.update(suite);
    hmac.update(ascii(label));
    hmac.update(info);
    hmac.update((byte) 1);
    byte[] block = secret(hmac.doFinal());
    try {
      return secret(Arrays.copyOf(block, length));
    } finally {
      Arrays.fill(block, (byte) 0);
    }
  }

  private static byte[] i2osp2(int v) {
    return new byte[] {(byte) (v >>> 8), (byte) v};
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int o = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, o, p.length);
      o += p.length;
    }
    return out;
  }
}

package org.cloister.trust.hpke;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;
import javax.crypto.AEADBadTagException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.cloister.trust.aead.AesGcm;

/**
 * HPKE (RFC 9180) mode_base with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-256-GCM: the one
 * HPKE of Cloister, used by every party (sites, the secure aggregator, the key broker and its
 * clients, the inference tier). Keys are raw 32-byte X25519 keys; the wire form is
 * {@code enc (32) || ciphertext || tag (16)} for single-shot messages and {@code enc ||} segments for
 * the streaming form ({@link #sealStream}, specified in docs/trust.md).
 *
 * <p><b>Stateless and thread-safe:</b> an instance holds only its {@link SecureRandom}; every call
 * makes its own {@link Mac} and AES-GCM cipher, so one instance can be shared by all threads.
 *
 * <p>X25519 is BouncyCastle's; the AEAD is {@link AesGcm} (the JDK's AES-GCM, processor
 * instructions). The DHKEM extract-and-expand, key schedule and exporter (RFC 9180 sections 4.1,
 * 5.1, 5.3, about 60 lines) are written out here rather than taken from BouncyCastle's
 * {@code HPKEContext}, for a measured reason: BouncyCastle 1.78.1's context does not hand out its
 * AEAD key and base nonce, so using it means using its pure-Java AES-GCM, which opened a 4 MB update
 * stream 17 times slower than this class on the JMH harness ({@code HpkeBench}, docs/benchmarks.md),
 * far more than the 5% of the enclave's aggregation throughput issue 16 allows. The key schedule is
 * checked against RFC 9180's vectors, against BouncyCastle's HPKE in both directions and against
 * our stream vectors (tests of module {@code trust}).
 *
 * <p>Every array of secret key material a call makes (ephemeral private key, DH output, the KEM's
 * PRK and shared secret, the key schedule's secret, AEAD key, base nonce, exporter secret, each HMAC
 * output block) is cleared before the call returns, on success and on every failure; exported
 * secrets are copies the caller owns.
 */
public final class Hpke {
  /** Size of X25519 public keys, private keys and {@code enc}. */
  public static final int KEY_BYTES = 32;
  /** Size of the AES-GCM tag appended to every ciphertext. */
  public static final int TAG_BYTES = AesGcm.TAG_BYTES;
  /** Bytes a single-shot message adds to its plaintext. */
  public static final int OVERHEAD = KEY_BYTES + TAG_BYTES;
  /** Suite identifiers (RFC 9180 section 7). */
  public static final int KEM_ID = 0x0020;
  public static final int KDF_ID = 0x0001;
  public static final int AEAD_ID = 0x0002;

  private static final int NN = AesGcm.NONCE_BYTES;
  private static final int NH = 32;
  private static final byte MODE_BASE = 0x00;
  private static final byte[] VERSION = ascii("HPKE-v1");
  private static final byte[] KEM_SUITE = concat(ascii("KEM"), i2osp2(KEM_ID));
  private static final byte[] HPKE_SUITE = concat(ascii("HPKE"), i2osp2(KEM_ID), i2osp2(KDF_ID), i2osp2(AEAD_ID));
  private static final byte[] ZERO_SALT = new byte[NH];
  private static final byte[] EMPTY = new byte[0];

  private final SecureRandom random;
  /** Sees every array of secret key material a call makes (tests check each is zero afterwards). */
  private final Consumer<byte[]> secrets;

  /** Ephemeral keys from a new {@link SecureRandom}. */
  public Hpke() {
    this(new SecureRandom());
  }

  /** Ephemeral and generated keys from {@code random}. */
  public Hpke(SecureRandom random) {
    this(random, b -> { });
  }

  /** For tests: {@code secrets} is shown every secret array made (ephemeral and DH values, PRKs, keys, nonces). */
  Hpke(SecureRandom random, Consumer<byte[]> secrets) {
    this.random = Objects.requireNonNull(random, "random");
    this.secrets = Objects.requireNonNull(secrets, "secrets");
  }

  /**
   * A sealed message and a secret exported from the same HPKE context (RFC 9180 section 5.3): the
   * recipient derives the same secret when it opens the message, e.g. to encrypt a reply only this
   * sender can read.
   *
   * @param message        {@code enc || ciphertext}
   * @param exportedSecret {@code Export(exporterContext, length)} of the sender's context
   */
  public record SealedWithSecret(byte[] message, byte[] exportedSecret) {
  }

  /**
   * An opened message and the secret exported from its HPKE context.
   *
   * @param plaintext      the message
   * @param exportedSecret {@code Export(exporterContext, length)} of the recipient's context
   */
  public record OpenedWithSecret(byte[] plaintext, byte[] exportedSecret) {
  }

  // ------------------------------------------------------------------ keys

  /** A fresh random key pair. */
  public HpkeKeyPair generateKeyPair() {
    byte[] sk = new byte[KEY_BYTES];
    X25519.generatePrivateKey(random, sk);
    try {
      return keyPairFromPrivateKey(sk);
    } finally {
      Arrays.fill(sk, (byte) 0);
    }
  }

  /** DeriveKeyPair(ikm) of RFC 9180 section 7.1.3: deterministic, for tests and key derivation. */
  public HpkeKeyPair deriveKeyPair(byte[] ikm) {
    Objects.requireNonNull(ikm, "ikm");
    if (ikm.length < KEY_BYTES) {
      throw new IllegalArgumentException("ikm must have at least " + KEY_BYTES + " bytes of entropy, got " + ikm.length);
    }
    byte[] prk = null;
    byte[] sk = null;
    try {
      Mac hmac = hmac();
      prk = secret(labeledExtract(hmac, KEM_SUITE, null, "dkp_prk", ikm));
      sk = labeledExpand(hmac, KEM_SUITE, prk, "sk", EMPTY, KEY_BYTES);
      return keyPairFromPrivateKey(sk);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable: " + e.getMessage(), e);
    } finally {
      clear(prk, sk);
    }
  }

  /** The key pair of a raw X25519 private key (its public key is recomputed). */
  public HpkeKeyPair keyPairFromPrivateKey(byte[] privateKey) {
    if (privateKey == null || privateKey.length != KEY_BYTES) {
      throw new IllegalArgumentException("X25519 private key must be " + KEY_BYTES + " bytes");
    }
    byte[] pk = new byte[KEY_BYTES];
    X25519.generatePublicKey(privateKey, 0, pk, 0);
    return new HpkeKeyPair(pk, privateKey);
  }

  // ------------------------------------------------------------------ single-shot

  /**
   * Seals {@code plaintext} to {@code recipientPublicKey} with a fresh ephemeral key, binding
   * {@code info} (the use, e.g. {@code cloister/v1 update}) and authenticating {@code aad} (either
   * may be null = empty).
   *
   * @return {@code enc || ciphertext || tag}
   * @throws HpkeException if the public key is not 32 bytes or is a low-order point
   */
  public byte[] seal(byte[] recipientPublicKey, byte[] info, byte[] aad, byte[] plaintext) throws HpkeException {
    return withEphemeral(skE -> seal(recipientPublicKey, info, aad, plaintext, skE, null, 0).message());
  }

  /**
   * As {@link #seal}, and exports {@code length} (16..32) bytes under {@code exporterContext} from the
   * message's context.
   */
  public SealedWithSecret sealAndExport(byte[] recipientPublicKey, byte[] info, byte[] aad, byte[] plaintext,
                                        byte[] exporterContext, int length) throws HpkeException {
    checkExport(exporterContext, length);
    return withEphemeral(skE -> seal(recipientPublicKey, info, aad, plaintext, skE, exporterContext, length));
  }

  /** As {@link #seal} with a given ephemeral private key (test vectors). */
  byte[] seal(byte[] pkR, byte[] info, byte[] aad, byte[] plaintext, byte[] skE) throws HpkeException {
    return seal(pkR, info, aad, plaintext, skE, null, 0).message();
  }

  private SealedWithSecret seal(byte[] pkR, byte[] info, byte[] aad, byte[] plaintext, byte[] skE,
                                byte[] exporterContext, int length) throws HpkeException {
    Objects.requireNonNull(plaintext, "plaintext");
    byte[] out = null;
    Context k = null;
    try {
      byte[] enc = new byte[KEY_BYTES];
      k = senderContext(pkR, info, skE, enc);
      out = Arrays.copyOf(enc, KEY_BYTES + plaintext.length + TAG_BYTES);
      AesGcm.seal(k.key, k.nonce, aad, plaintext, 0, plaintext.length, out, KEY_BYTES);
      return new SealedWithSecret(out, exporterContext == null ? null : k.export(exporterContext, length));
    } finally {
      if (k != null) {
        k.destroy();
      }
    }
  }

  /**
   * Opens {@code enc || ciphertext} sealed to {@code recipient} with the same {@code info} and
   * {@code aad}.
   *
   * @throws HpkeException when the message is too short, enc is not a valid X25519 key, or the tag
   *     does not verify (wrong key, or enc, info, aad or ciphertext altered)
   */
  public byte[] open(HpkeKeyPair recipient, byte[] message, byte[] info, byte[] aad) throws HpkeException {
    byte[] out = new byte[checkSingleShot(message.length)];
    open(recipient, message, 0, message.length, info, aad, out, 0);
    return out;
  }

  /**
   * Opens {@code message[off, off+len)} into {@code out[outOff...]} ({@code len - OVERHEAD} bytes).
   *
   * @return the plaintext length
   */
  public int open(HpkeKeyPair recipient, byte[] message, int off, int len, byte[] info, byte[] aad, byte[] out,
                  int outOff) throws HpkeException {
    return open(recipient, message, off, len, info, aad, out, outOff, null, 0, null);
  }

  /** As {@link #open}, and exports the secret the sender got from {@link #sealAndExport}. */
  public OpenedWithSecret openAndExport(HpkeKeyPair recipient, byte[] message, byte[] info, byte[] aad,
                                        byte[] exporterContext, int length) throws HpkeException {
    checkExport(exporterContext, length);
    byte[] out = new byte[checkSingleShot(message.length)];
    byte[][] secret = new byte[1][];
    open(recipient, message, 0, message.length, info, aad, out, 0, exporterContext, length, secret);
    return new OpenedWithSecret(out, secret[0]);
  }

  private int open(HpkeKeyPair recipient, byte[] message, int off, int len, byte[] info, byte[] aad, byte[] out,
                   int outOff, byte[] exporterContext, int length, byte[][] secretOut) throws HpkeException {
    Objects.requireNonNull(recipient, "recipient");
    checkSingleShot(len);
    Context k = null;
    try {
      k = receiverContext(recipient, message, off, info);
      int n = AesGcm.open(k.key, k.nonce, aad, message, off + KEY_BYTES, len - KEY_BYTES, out, outOff);
      if (secretOut != null) {
        secretOut[0] = k.export(exporterContext, length);
      }
      return n;
    } catch (AEADBadTagException e) {
      throw new HpkeException("HPKE open failed: authentication tag mismatch (wrong recipient key, "
          + "or enc, info, aad or ciphertext altered)", e);
    } finally {
      if (k != null) {
        k.destroy();
      }
    }
  }

  // ------------------------------------------------------------------ streaming form

  /** Bytes the streaming form adds to a {@code length}-byte plaintext (enc and one tag per segment). */
  public static int streamOverhead(int length) {
    return KEY_BYTES + AesGcm.streamLength(length) - length;
  }

  /** Plaintext length of a {@code messageLength}-byte streaming message, or -1 if none has that length. */
  public static int streamPlaintextLength(int messageLength) {
    return messageLength < KEY_BYTES ? -1 : AesGcm.streamPlaintextLength(messageLength - KEY_BYTES);
  }

  /**
   * Seals a large {@code plaintext}: {@code enc ||} the RFC 9180 context's messages 0, 1, ... over
   * {@link AesGcm#SEGMENT_BYTES}-byte segments with associated data {@code aad || final-flag}
   * ({@link AesGcm#sealStream}; format {@code hpke-x25519-aes256gcm-stream4k-v1}, docs/trust.md).
   * Equivalent to calling {@code ContextS.Seal} once per segment, so any RFC 9180 implementation can
   * open it.
   */
  public byte[] sealStream(byte[] recipientPublicKey, byte[] info, byte[] aad, byte[] plaintext)
      throws HpkeException {
    Objects.requireNonNull(plaintext, "plaintext");
    return withEphemeral(skE -> {
      Context k = null;
      try {
        byte[] enc = new byte[KEY_BYTES];
        k = senderContext(recipientPublicKey, info, skE, enc);
        byte[] out = Arrays.copyOf(enc, KEY_BYTES + AesGcm.streamLength(plaintext.length));
        AesGcm.sealStream(k.key, k.nonce, aad, plaintext, 0, plaintext.length, out, KEY_BYTES);
        return out;
      } finally {
        if (k != null) {
          k.destroy();
        }
      }
    });
  }

  /**
   * As {@link #sealStream(byte[], byte[], byte[], byte[])} for a {@code length}-byte plaintext that {@code source}
   * writes one segment at a time ({@link AesGcm#sealStream(byte[], byte[], byte[], int, AesGcm.SegmentSource,
   * byte[], int)}): the same message format, without a whole plaintext copy.
   */
  public byte[] sealStream(byte[] recipientPublicKey, byte[] info, byte[] aad, int length, AesGcm.SegmentSource source)
      throws HpkeException {
    Objects.requireNonNull(source, "source");
    if (length < 0) {
      throw new IllegalArgumentException("plaintext length must be >= 0, got " + length);
    }
    return withEphemeral(skE -> {
      Context k = null;
      try {
        byte[] enc = new byte[KEY_BYTES];
        k = senderContext(recipientPublicKey, info, skE, enc);
        byte[] out = Arrays.copyOf(enc, KEY_BYTES + AesGcm.streamLength(length));
        AesGcm.sealStream(k.key, k.nonce, aad, length, source, out, KEY_BYTES);
        return out;
      } finally {
        if (k != null) {
          k.destroy();
        }
      }
    });
  }

  /**
   * Opens a message made by {@link #sealStream} into {@code out[outOff...]}; when a segment does not
   * authenticate, the part of {@code out} already written is zeroed.
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
    Context k = null;
    try {
      k = receiverContext(recipient, message, off, info);
      return AesGcm.openStream(k.key, k.nonce, aad, message, off + KEY_BYTES, len - KEY_BYTES, out, outOff);
    } catch (AEADBadTagException e) {
      throw new HpkeException("HPKE open failed: authentication tag mismatch (wrong recipient key, "
          + "or enc, info, aad or a segment altered)", e);
    } finally {
      if (k != null) {
        k.destroy();
      }
    }
  }

  /** Opens a whole streaming message; see {@link #openStream(HpkeKeyPair, byte[], int, int, byte[], byte[], byte[], int)}. */
  public byte[] openStream(HpkeKeyPair recipient, byte[] message, byte[] info, byte[] aad) throws HpkeException {
    int plain = streamPlaintextLength(message.length);
    if (plain < 0) {
      throw new HpkeException("HPKE streaming message of " + message.length
          + " bytes has no valid length (enc + segments + tags)");
    }
    byte[] out = new byte[plain];
    openStream(recipient, message, 0, message.length, info, aad, out, 0);
    return out;
  }

  // ------------------------------------------------------------------ RFC 9180 key schedule

  /** The AEAD key, base nonce and exporter secret of one HPKE context. */
  private final class Context {
    final byte[] key;
    final byte[] nonce;
    final byte[] exporterSecret;
    final Mac hmac;

    Context(byte[] key, byte[] nonce, byte[] exporterSecret, Mac hmac) {
      this.key = key;
      this.nonce = nonce;
      this.exporterSecret = exporterSecret;
      this.hmac = hmac;
    }

    /** Export(exporter_context, L) of RFC 9180 section 5.3: a copy the caller owns. */
    byte[] export(byte[] exporterContext, int length) throws HpkeException {
      byte[] mine = null;
      try {
        mine = labeledExpand(hmac, HPKE_SUITE, exporterSecret, "sec", exporterContext, length);
        return mine.clone();
      } catch (GeneralSecurityException e) {
        throw new HpkeException("HPKE export failed: " + e.getMessage(), e);
      } finally {
        clear(mine);
      }
    }

    void destroy() {
      clear(key, nonce, exporterSecret);
    }
  }

  @FunctionalInterface
  private interface WithKey<T> {
    T apply(byte[] skE) throws HpkeException;
  }

  /** Runs {@code f} with a fresh ephemeral private key, cleared afterwards. */
  private <T> T withEphemeral(WithKey<T> f) throws HpkeException {
    byte[] skE = secret(new byte[KEY_BYTES]);
    try {
      X25519.generatePrivateKey(random, skE);
      return f.apply(skE);
    } finally {
      clear(skE);
    }
  }

  /** Encap (section 4.1) with ephemeral key {@code skE}, writing {@code enc}, then the key schedule. */
  private Context senderContext(byte[] pkR, byte[] info, byte[] skE, byte[] enc) throws HpkeException {
    if (pkR == null || pkR.length != KEY_BYTES) {
      throw new HpkeException("recipient public key must be " + KEY_BYTES + " bytes (raw X25519), got "
          + (pkR == null ? "null" : pkR.length));
    }
    X25519.generatePublicKey(skE, 0, enc, 0);
    byte[] dh = secret(new byte[KEY_BYTES]);
    try {
      if (!X25519.calculateAgreement(skE, 0, pkR, 0, dh, 0)) {
        throw new HpkeException("HPKE seal failed: invalid recipient public key (X25519 result is zero)");
      }
      Mac hmac = hmac();
      return keySchedule(hmac, extractAndExpand(hmac, dh, concat(enc, pkR)), info);
    } catch (HpkeException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new HpkeException("HPKE seal failed: " + e.getMessage(), e);
    } finally {
      clear(dh);
    }
  }

  /** Decap (section 4.1) of the {@code enc} at {@code message[off...]}, then the key schedule. */
  private Context receiverContext(HpkeKeyPair recipient, byte[] message, int off, byte[] info) throws HpkeException {
    byte[] enc = Arrays.copyOfRange(message, off, off + KEY_BYTES);
    byte[] skR = secret(recipient.privateKey());
    byte[] dh = secret(new byte[KEY_BYTES]);
    try {
      if (!X25519.calculateAgreement(skR, 0, enc, 0, dh, 0)) {
        throw new HpkeException("HPKE open failed: invalid encapsulated key enc (X25519 result is zero)");
      }
      Mac hmac = hmac();
      return keySchedule(hmac, extractAndExpand(hmac, dh, concat(enc, recipient.publicKey())), info);
    } catch (HpkeException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new HpkeException("HPKE open failed: " + e.getMessage(), e);
    } finally {
      clear(skR, dh);
    }
  }

  /** Decap for tests: the KEM shared secret of {@code enc} for {@code recipient}. */
  byte[] sharedSecret(HpkeKeyPair recipient, byte[] enc) throws GeneralSecurityException {
    byte[] dh = new byte[KEY_BYTES];
    if (!X25519.calculateAgreement(recipient.privateKey(), 0, enc, 0, dh, 0)) {
      throw new HpkeException("X25519 result is zero");
    }
    return extractAndExpand(hmac(), dh, concat(enc, recipient.publicKey()));
  }

  /**
   * For tests: the key schedule of {@code sharedSecret} under a suite with AEAD {@code aeadId} and
   * key length {@code nk} (RFC 9180 Appendix A.1 is AES-128-GCM): key, base nonce, exporter secret.
   */
  static byte[][] keySchedule(byte[] sharedSecret, byte[] info, int aeadId, int nk) throws GeneralSecurityException {
    byte[] suite = concat(ascii("HPKE"), i2osp2(KEM_ID), i2osp2(KDF_ID), i2osp2(aeadId));
    Mac hmac = hmac();
    byte[] context = concat(new byte[] {MODE_BASE}, labeledExtract(hmac, suite, null, "psk_id_hash", EMPTY),
        labeledExtract(hmac, suite, null, "info_hash", info == null ? EMPTY : info));
    byte[] secret = labeledExtract(hmac, suite, sharedSecret, "secret", EMPTY);
    return new byte[][] {expand(hmac, suite, secret, "key", context, nk),
        expand(hmac, suite, secret, "base_nonce", context, NN), expand(hmac, suite, secret, "exp", context, NH)};
  }

  /** For tests: Export of RFC 9180 section 5.3 from an exporter secret, under the suite with AEAD {@code aeadId}. */
  static byte[] export(byte[] exporterSecret, byte[] exporterContext, int length, int aeadId)
      throws GeneralSecurityException {
    byte[] suite = concat(ascii("HPKE"), i2osp2(KEM_ID), i2osp2(KDF_ID), i2osp2(aeadId));
    return expand(hmac(), suite, exporterSecret, "sec", exporterContext, length);
  }

  /** DHKEM ExtractAndExpand (section 4.1); clears {@code dh}'s PRK. */
  private byte[] extractAndExpand(Mac hmac, byte[] dh, byte[] kemContext) throws GeneralSecurityException {
    byte[] eaePrk = secret(labeledExtract(hmac, KEM_SUITE, null, "eae_prk", dh));
    try {
      return labeledExpand(hmac, KEM_SUITE, eaePrk, "shared_secret", kemContext, NH);
    } finally {
      clear(eaePrk);
    }
  }

  /** KeySchedule for mode_base with an empty PSK (section 5.1); clears {@code sharedSecret}. */
  private Context keySchedule(Mac hmac, byte[] sharedSecret, byte[] info) throws GeneralSecurityException {
    byte[] secret = null;
    byte[] key = null;
    byte[] nonce = null;
    try {
      byte[] context = concat(new byte[] {MODE_BASE}, labeledExtract(hmac, HPKE_SUITE, null, "psk_id_hash", EMPTY),
          labeledExtract(hmac, HPKE_SUITE, null, "info_hash", info == null ? EMPTY : info));
      secret = secret(labeledExtract(hmac, HPKE_SUITE, sharedSecret, "secret", EMPTY));
      key = labeledExpand(hmac, HPKE_SUITE, secret, "key", context, AesGcm.KEY_BYTES);
      nonce = labeledExpand(hmac, HPKE_SUITE, secret, "base_nonce", context, NN);
      Context k = new Context(key, nonce, labeledExpand(hmac, HPKE_SUITE, secret, "exp", context, NH), hmac);
      key = null; // now the context's, cleared by destroy()
      nonce = null;
      return k;
    } finally {
      clear(secret, key, nonce, sharedSecret);
    }
  }

  private byte[] secret(byte[] b) {
    secrets.accept(b);
    return b;
  }

  private static Mac hmac() throws GeneralSecurityException {
    return Mac.getInstance("HmacSHA256");
  }

  private static byte[] labeledExtract(Mac hmac, byte[] suite, byte[] salt, String label, byte[] ikm)
      throws GeneralSecurityException {
    hmac.init(new SecretKeySpec(salt == null || salt.length == 0 ? ZERO_SALT : salt, "HmacSHA256"));
    hmac.update(VERSION);
    hmac.update(suite);
    hmac.update(ascii(label));
    hmac.update(ikm);
    return hmac.doFinal();
  }

  /** Single-block LabeledExpand: the output block is cleared, the returned prefix is shown to {@code secrets}. */
  private byte[] labeledExpand(Mac hmac, byte[] suite, byte[] prk, String label, byte[] info, int length)
      throws GeneralSecurityException {
    byte[] block = secret(expandBlock(hmac, suite, prk, label, info, length));
    try {
      return secret(Arrays.copyOf(block, length));
    } finally {
      clear(block);
    }
  }

  private static byte[] expand(Mac hmac, byte[] suite, byte[] prk, String label, byte[] info, int length)
      throws GeneralSecurityException {
    return Arrays.copyOf(expandBlock(hmac, suite, prk, label, info, length), length);
  }

  private static byte[] expandBlock(Mac hmac, byte[] suite, byte[] prk, String label, byte[] info, int length)
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
    return hmac.doFinal();
  }

  private static void checkExport(byte[] exporterContext, int length) {
    Objects.requireNonNull(exporterContext, "exporterContext");
    if (length < 16 || length > NH) {
      throw new IllegalArgumentException("exported secret length must be 16.." + NH + " bytes, got " + length);
    }
  }

  private static int checkSingleShot(int len) throws HpkeException {
    if (len < OVERHEAD) {
      throw new HpkeException("HPKE message is " + len + " bytes, shorter than enc (32) + tag (16)");
    }
    return len - OVERHEAD;
  }

  private static void clear(byte[]... arrays) {
    for (byte[] b : arrays) {
      if (b != null) {
        Arrays.fill(b, (byte) 0);
      }
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

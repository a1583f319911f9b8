package org.cloister.trust.hpke;

import java.util.Objects;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.hpke.HPKE;
import org.bouncycastle.crypto.hpke.HPKEContext;
import org.bouncycastle.crypto.hpke.HPKEContextWithEncapsulation;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;

/**
 * TEST REFERENCE: HPKE (RFC 9180) in mode_base with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
 * AES-256-GCM, on BouncyCastle's implementation, an independent implementation that {@link Hpke}
 * (the production one) is checked against. Keys are raw 32-byte X25519 keys.
 *
 * <p>Thread-safe: each call uses its own BouncyCastle objects.
 */
public final class BouncyCastleHpke {
  /** Size of X25519 public keys, private keys and {@code enc}. */
  public static final int KEY_BYTES = 32;
  /** Size of the AES-GCM tag appended to every ciphertext. */
  public static final int TAG_BYTES = 16;
  /** Suite identifiers (RFC 9180 section 7). */
  public static final int KEM_ID = 0x0020;
  public static final int KDF_ID = 0x0001;
  public static final int AEAD_ID = 0x0002;

  public BouncyCastleHpke() {}

  private static HPKE suite() {
    return new HPKE(HPKE.mode_base, HPKE.kem_X25519_SHA256, HPKE.kdf_HKDF_SHA256, HPKE.aead_AES_GCM256);
  }

  /** A fresh random key pair. */
  public HpkeKeyPair generateKeyPair() {
    HPKE hpke = suite();
    return toKeyPair(hpke, hpke.generatePrivateKey());
  }

  /** DeriveKeyPair(ikm) of RFC 9180 section 7.1.3: deterministic, for tests and key derivation. */
  public HpkeKeyPair deriveKeyPair(byte[] ikm) {
    Objects.requireNonNull(ikm, "ikm");
    if (ikm.length < KEY_BYTES) {
      throw new IllegalArgumentException("ikm must have at least " + KEY_BYTES + " bytes of entropy, got " + ikm.length);
    }
    HPKE hpke = suite();
    return toKeyPair(hpke, hpke.deriveKeyPair(ikm));
  }

  /** The key pair of a raw X25519 private key (its public key is recomputed). */
  public HpkeKeyPair keyPairFromPrivateKey(byte[] privateKey) {
    if (privateKey == null || privateKey.length != KEY_BYTES) {
      throw new IllegalArgumentException("X25519 private key must be " + KEY_BYTES + " bytes");
    }
    X25519PrivateKeyParameters sk = new X25519PrivateKeyParameters(privateKey, 0);
    return new HpkeKeyPair(sk.generatePublicKey().getEncoded(), privateKey);
  }

  /**
   * Encrypts {@code plaintext} to {@code recipientPublicKey}, binding {@code info} (context, e.g. a
   * round identifier) and authenticating {@code aad}.
   *
   * @throws HpkeException if the public key is invalid (e.g. a low-order point)
   */
  public HpkeCiphertext seal(byte[] recipientPublicKey, byte[] info, byte[] aad, byte[] plaintext)
      throws HpkeException {
    return seal(recipientPublicKey, info, aad, plaintext, null);
  }

  /** As {@link #seal(byte[], byte[], byte[], byte[])} with a fixed ephemeral key pair (test vectors only). */
  HpkeCiphertext seal(byte[] recipientPublicKey, byte[] info, byte[] aad, byte[] plaintext, HpkeKeyPair ephemeral)
      throws HpkeException {
    return seal(recipientPublicKey, info, aad, plaintext, ephemeral, null, 0).ciphertext();
  }

  /**
   * A sealed message and a secret exported from the same HPKE context (RFC 9180 section 5.3):
   * the recipient derives the same secret when it opens the message, so it can encrypt a reply
   * that only this sender can read.
   *
   * @param ciphertext     the sealed message
   * @param exportedSecret {@code Export(exporterContext, length)} of the sender's context
   */
  public record SealedWithSecret(HpkeCiphertext ciphertext, byte[] exportedSecret) {
  }

  /**
   * An opened message and the secret exported from its HPKE context.
   *
   * @param plaintext      the message
   * @param exportedSecret {@code Export(exporterContext, length)} of the recipient's context
   */
  public record OpenedWithSecret(byte[] plaintext, byte[] exportedSecret) {
  }

  /**
   * As {@link #seal(byte[], byte[], byte[], byte[])}, and exports {@code length} bytes of secret
   * bound to this message's context under {@code exporterContext} (e.g. a reply key).
   */
  public SealedWithSecret sealAndExport(byte[] recipientPublicKey, byte[] info, byte[] aad, byte[] plaintext,
                                        byte[] exporterContext, int length) throws HpkeException {
    Objects.requireNonNull(exporterContext, "exporterContext");
    checkExportLength(length);
    return seal(recipientPublicKey, info, aad, plaintext, null, exporterContext, length);
  }

  /** As {@link #open}, and exports the secret the sender got from {@link #sealAndExport}. */
  public OpenedWithSecret openAndExport(HpkeKeyPair recipient, HpkeCiphertext message, byte[] info, byte[] aad,
                                        byte[] exporterContext, int length) throws HpkeException {
    Objects.requireNonNull(exporterContext, "exporterContext");
    checkExportLength(length);
    HPKEContext ctx = receiverContext(recipient, message, info);
    return new OpenedWithSecret(open(ctx, message, aad), ctx.export(exporterContext, length));
  }

  private static void checkExportLength(int length) {
    if (length < 16 || length > 64) {
      throw new IllegalArgumentException("exported secret length must be 16..64 bytes, got " + length);
    }
  }

  private SealedWithSecret seal(byte[] recipientPublicKey, byte[] info, byte[] aad, byte[] plaintext,
                                HpkeKeyPair ephemeral, byte[] exporterContext, int exportLength) throws HpkeException {
    checkKey(recipientPublicKey, "recipient public key");
    Objects.requireNonNull(plaintext, "plaintext");
    HPKE hpke = suite();
    try {
      AsymmetricKeyParameter pkR = hpke.deserializePublicKey(recipientPublicKey);
      HPKEContextWithEncapsulation ctx = ephemeral == null
          ? hpke.setupBaseS(pkR, orEmpty(info))
          : hpke.setupBaseS(pkR, orEmpty(info),
              hpke.deserializePrivateKey(ephemeral.privateKey(), ephemeral.publicKey()));
      byte[] ciphertext = ctx.seal(orEmpty(aad), plaintext);
      HpkeCiphertext out = new HpkeCiphertext(ctx.getEncapsulation(), ciphertext);
      return exporterContext == null ? new SealedWithSecret(out, null)
          : new SealedWithSecret(out, ctx.export(exporterContext, exportLength));
    } catch (InvalidCipherTextException | RuntimeException e) {
      throw new HpkeException("HPKE seal failed: invalid recipient public key (" + e.getMessage() + ")", e);
    }
  }

  /**
   * Decrypts and authenticates a message sealed to {@code recipient} with the same {@code info} and
   * {@code aad}.
   *
   * @throws HpkeException if the message was not sealed to this key, or enc, info, aad or ciphertext
   *     differ from what was sealed
   */
  public byte[] open(HpkeKeyPair recipient, HpkeCiphertext message, byte[] info, byte[] aad) throws HpkeException {
    return open(receiverContext(recipient, message, info), message, aad);
  }

  private static HPKEContext receiverContext(HpkeKeyPair recipient, HpkeCiphertext message, byte[] info)
      throws HpkeException {
    Objects.requireNonNull(recipient, "recipient");
    Objects.requireNonNull(message, "message");
    HPKE hpke = suite();
    try {
      AsymmetricCipherKeyPair kpR = hpke.deserializePrivateKey(recipient.privateKey(), recipient.publicKey());
      return hpke.setupBaseR(message.enc(), kpR, orEmpty(info));
    } catch (RuntimeException e) {
      throw new HpkeException("HPKE open failed: invalid encapsulated key enc (" + e.getMessage() + ")", e);
    }
  }

  private static byte[] open(HPKEContext ctx, HpkeCiphertext message, byte[] aad) throws HpkeException {
    try {
      return ctx.open(orEmpty(aad), message.ciphertext());
    } catch (InvalidCipherTextException e) {
      throw new HpkeException("HPKE open failed: authentication tag mismatch (wrong recipient key, "
          + "or enc, info, aad or ciphertext altered)", e);
    }
  }

  /**
   * The streaming form of {@link Hpke#sealStream} done with BouncyCastle's RFC 9180 sender
   * context (one {@code Seal} per {@link org.cloister.trust.aead.AesGcm#SEGMENT_BYTES}-byte
   * segment, aad {@code aad || final-flag}): an independent implementation to check against.
   */
  public byte[] sealStream(byte[] recipientPublicKey, byte[] info, byte[] aad, byte[] plaintext) throws HpkeException {
    checkKey(recipientPublicKey, "recipient public key");
    HPKE hpke = suite();
    try {
      HPKEContextWithEncapsulation ctx = hpke.setupBaseS(hpke.deserializePublicKey(recipientPublicKey), orEmpty(info));
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      out.write(ctx.getEncapsulation());
      int seg = org.cloister.trust.aead.AesGcm.SEGMENT_BYTES;
      int n = org.cloister.trust.aead.AesGcm.segments(plaintext.length);
      for (int i = 0; i < n; i++) {
        byte[] part = java.util.Arrays.copyOfRange(plaintext, i * seg, Math.min(plaintext.length, (i + 1) * seg));
        out.write(ctx.seal(streamAad(aad, i == n - 1), part));
      }
      return out.toByteArray();
    } catch (InvalidCipherTextException | java.io.IOException | RuntimeException e) {
      throw new HpkeException("HPKE seal failed: " + e.getMessage(), e);
    }
  }

  /** Opens the streaming form with BouncyCastle's receiver context; see {@link #sealStream}. */
  public byte[] openStream(HpkeKeyPair recipient, byte[] message, byte[] info, byte[] aad) throws HpkeException {
    int plain = Hpke.streamPlaintextLength(message.length);
    if (plain < 0) {
      throw new HpkeException("HPKE streaming message of " + message.length + " bytes has no valid length");
    }
    HPKE hpke = suite();
    try {
      HPKEContext ctx = hpke.setupBaseR(java.util.Arrays.copyOf(message, KEY_BYTES),
          hpke.deserializePrivateKey(recipient.privateKey(), recipient.publicKey()), orEmpty(info));
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(plain);
      int seg = org.cloister.trust.aead.AesGcm.SEGMENT_BYTES;
      int n = org.cloister.trust.aead.AesGcm.segments(plain);
      int off = KEY_BYTES;
      for (int i = 0; i < n; i++) {
        int len = Math.min(seg, plain - i * seg) + TAG_BYTES;
        out.write(ctx.open(streamAad(aad, i == n - 1), java.util.Arrays.copyOfRange(message, off, off + len)));
        off += len;
      }
      return out.toByteArray();
    } catch (InvalidCipherTextException e) {
      throw new HpkeException("HPKE open failed: authentication tag mismatch", e);
    } catch (java.io.IOException | RuntimeException e) {
      throw new HpkeException("HPKE open failed: " + e.getMessage(), e);
    }
  }

  private static byte[] streamAad(byte[] aad, boolean last) {
    byte[] a = java.util.Arrays.copyOf(orEmpty(aad), orEmpty(aad).length + 1);
    a[a.length - 1] = (byte) (last ? 1 : 0);
    return a;
  }

  private static HpkeKeyPair toKeyPair(HPKE hpke, AsymmetricCipherKeyPair kp) {
    return new HpkeKeyPair(hpke.serializePublicKey(kp.getPublic()), hpke.serializePrivateKey(kp.getPrivate()));
  }

  private static void checkKey(byte[] key, String what) throws HpkeException {
    if (key == null || key.length != KEY_BYTES) {
      throw new HpkeException(what + " must be " + KEY_BYTES + " bytes (raw X25519), got "
          + (key == null ? "null" : key.length));
    }
  }

  private static byte[] orEmpty(byte[] b) {
    return b == null ? new byte[0] : b;
  }
}

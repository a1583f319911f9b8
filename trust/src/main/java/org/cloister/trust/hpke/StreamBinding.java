package org.cloister.trust.hpke;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.cloister.trust.aead.AesGcm;

/**
 * A short digest that binds a signed statement to one message of HPKE's streaming form
 * ({@link Hpke#sealStream}, format {@code hpke-x25519-aes256gcm-stream4k-v1}) without hashing the
 * whole ciphertext: SHA-256 over a domain label, the message length, the HPKE {@code enc} and every
 * segment's 16-byte GCM tag, in order (about 1/256 of the message).
 *
 * <p>What it binds, and to whom (docs/trust.md, "Payload binding v2"): {@code enc} fixes, for the one
 * receiver that can open the message, the AEAD key and base nonce (RFC 9180's key schedule is a
 * function of {@code enc}, the receiver's private key and {@code info}); the streaming form's segment
 * nonces and final flag fix the segments' order and number. So a receiver that checks this digest and
 * then authenticates every segment under that key opens only ciphertexts made by someone who knows
 * the key: the sender. It is <em>not</em> a digest of the ciphertext: a party that knows the key (the
 * sender) can make other ciphertexts with the same enc and tags, so it binds nothing against its own
 * sender, and it is meaningful only together with the receiver's authenticated decryption.
 */
public final class StreamBinding {
  /** Domain label of the digest (version 2 of the contribution statement's payload binding). */
  static final byte[] LABEL = "cloister/v2 hpke-stream-binding\0".getBytes(StandardCharsets.US_ASCII);

  private StreamBinding() {
  }

  /**
   * The binding digest of the streaming message in {@code message[off, off + len)}.
   *
   * @throws IllegalArgumentException when {@code len} is not the length of any streaming message
   *     (enc + 4096-byte segments, each with its tag)
   */
  public static byte[] digest(byte[] message, int off, int len) {
    int plain = Hpke.streamPlaintextLength(len);
    if (plain < 0) {
      throw new IllegalArgumentException("a streaming message of " + len
          + " bytes has no valid length (enc + 4096-byte segments with their tags)");
    }
    MessageDigest md = sha256();
    md.update(LABEL);
    md.update(ByteBuffer.allocate(Long.BYTES).putLong(len).array());
    md.update(message, off, Hpke.KEY_BYTES);
    int n = AesGcm.segments(plain);
    int pos = off + Hpke.KEY_BYTES;
    for (int i = 0; i < n; i++) {
      int body = i < n - 1 ? AesGcm.SEGMENT_BYTES : plain - (n - 1) * AesGcm.SEGMENT_BYTES;
      pos += body;
      md.update(message, pos, AesGcm.TAG_BYTES);
      pos += AesGcm.TAG_BYTES;
    }
    return md.digest();
  }

  /** The binding digest of a whole streaming message. */
  public static byte[] digest(byte[] message) {
    return digest(message, 0, message.length);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }
}

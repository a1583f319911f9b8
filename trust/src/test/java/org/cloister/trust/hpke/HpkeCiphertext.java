package org.cloister.trust.hpke;

import java.util.Arrays;
import java.util.Objects;

/**
 * Result of a single-shot HPKE seal: the encapsulated key {@code enc} (32 bytes for X25519) and the
 * AEAD ciphertext including its 16-byte tag. Accessors return copies.
 */
public record HpkeCiphertext(byte[] enc, byte[] ciphertext) {

  public HpkeCiphertext {
    Objects.requireNonNull(enc, "enc");
    Objects.requireNonNull(ciphertext, "ciphertext");
    if (enc.length != Hpke.KEY_BYTES) {
      throw new IllegalArgumentException("enc must be " + Hpke.KEY_BYTES + " bytes, got " + enc.length);
    }
    if (ciphertext.length < Hpke.TAG_BYTES) {
      throw new IllegalArgumentException("ciphertext must be at least " + Hpke.TAG_BYTES
          + " bytes (the AEAD tag), got " + ciphertext.length);
    }
    enc = enc.clone();
    ciphertext = ciphertext.clone();
  }

  @Override
  public byte[] enc() {
    return enc.clone();
  }

  @Override
  public byte[] ciphertext() {
    return ciphertext.clone();
  }

  /** {@code enc || ciphertext}, the wire form. */
  public byte[] toBytes() {
    byte[] out = Arrays.copyOf(enc, enc.length + ciphertext.length);
    System.arraycopy(ciphertext, 0, out, enc.length, ciphertext.length);
    return out;
  }

  /** Parses the wire form {@code enc || ciphertext}. */
  public static HpkeCiphertext fromBytes(byte[] bytes) {
    if (bytes.length < Hpke.KEY_BYTES + Hpke.TAG_BYTES) {
      throw new IllegalArgumentException("HPKE message is " + bytes.length + " bytes, shorter than enc (32) + tag (16)");
    }
    return new HpkeCiphertext(Arrays.copyOf(bytes, Hpke.KEY_BYTES),
        Arrays.copyOfRange(bytes, Hpke.KEY_BYTES, bytes.length));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HpkeCiphertext other && Arrays.equals(enc, other.enc)
        && Arrays.equals(ciphertext, other.ciphertext);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(enc) + Arrays.hashCode(ciphertext);
  }

  @Override
  public String toString() {
    return "HpkeCiphertext[enc=" + enc.length + " bytes, ciphertext=" + ciphertext.length + " bytes]";
  }
}

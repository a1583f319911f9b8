package org.cloister.trust.hpke;

import java.util.Objects;

/**
 * An X25519 HPKE key pair as raw 32-byte keys (RFC 7748 encoding). The private key is never printed
 * by {@link #toString()}; accessors return copies.
 */
public record HpkeKeyPair(byte[] publicKey, byte[] privateKey) {

  public HpkeKeyPair {
    Objects.requireNonNull(publicKey, "publicKey");
    Objects.requireNonNull(privateKey, "privateKey");
    if (publicKey.length != Hpke.KEY_BYTES || privateKey.length != Hpke.KEY_BYTES) {
      throw new IllegalArgumentException("X25519 keys are " + Hpke.KEY_BYTES + " bytes, got public "
          + publicKey.length + " and private " + privateKey.length);
    }
    publicKey = publicKey.clone();
    privateKey = privateKey.clone();
  }

  @Override
  public byte[] publicKey() {
    return publicKey.clone();
  }

  @Override
  public byte[] privateKey() {
    return privateKey.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HpkeKeyPair other && java.security.MessageDigest.isEqual(publicKey, other.publicKey)
        && java.security.MessageDigest.isEqual(privateKey, other.privateKey);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(publicKey);
  }

  @Override
  public String toString() {
    return "HpkeKeyPair[publicKey=" + java.util.HexFormat.of().formatHex(publicKey) + ", privateKey=<redacted>]";
  }
}

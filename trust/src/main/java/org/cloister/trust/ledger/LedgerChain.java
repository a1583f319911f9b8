package org.cloister.trust.ledger;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The hash chain over ledger entries: {@code hash_n = SHA-256(hash_{n-1} || len(entry) || entry ||
 * len(signature) || signature)}, with 32 zero bytes before the first entry. Editing, removing or
 * reordering any entry changes every hash after it.
 */
public final class LedgerChain {
  public static final byte[] GENESIS = new byte[32];

  private LedgerChain() {
  }

  public static byte[] link(byte[] previousHash, byte[] entry, byte[] signature) {
    if (previousHash.length != 32) {
      throw new IllegalArgumentException("previous hash must be 32 bytes, got " + previousHash.length);
    }
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(previousHash);
      d.update(ByteBuffer.allocate(4).putInt(entry.length).array());
      d.update(entry);
      d.update(ByteBuffer.allocate(4).putInt(signature.length).array());
      d.update(signature);
      return d.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

package org.cloister.trust.hpke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.junit.jupiter.api.Test;

/**
 * The payload binding of statement version 2 (docs/trust.md, "Payload binding v2"): against a reference that
 * walks the message as RFC 9180 context messages of 4096 + 16 bytes (BouncyCastle's SHA-256), and what it does
 * and does not bind.
 */
class StreamBindingTest {
  private final Hpke hpke = new Hpke(new java.security.SecureRandom(new byte[] {7}));
  private final HpkeKeyPair receiver = hpke.deriveKeyPair(new byte[32]);

  private byte[] sealed(int length, long seed) throws HpkeException {
    byte[] plain = new byte[length];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < length; i++) {
      plain[i] = (byte) r.nextInt(256);
    }
    return hpke.sealStream(receiver.publicKey(), "info".getBytes(), "aad".getBytes(), plain);
  }

  /** Independent reference: enc, then each context message is its ciphertext followed by its 16-byte tag. */
  private static byte[] reference(byte[] message) {
    ByteArrayOutputStream tags = new ByteArrayOutputStream();
    for (int from = 32; from < message.length; from += 4096 + 16) {
      int end = Math.min(message.length, from + 4096 + 16);
      tags.write(message, end - 16, 16);
    }
    SHA256Digest d = new SHA256Digest();
    byte[] label = "cloister/v2 hpke-stream-binding\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    d.update(label, 0, label.length);
    d.update(ByteBuffer.allocate(8).putLong(message.length).array(), 0, 8);
    d.update(message, 0, 32);
    byte[] t = tags.toByteArray();
    d.update(t, 0, t.length);
    byte[] out = new byte[32];
    d.doFinal(out, 0);
    return out;
  }

  @Test
  void matchesTheReferenceForEveryShapeOfMessage() throws Exception {
    for (int length : new int[] {0, 1, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 5, 1_000_000}) {
      byte[] m = sealed(length, length);
      assertThat(StreamBinding.digest(m)).as("%d bytes", length).isEqualTo(reference(m));
      byte[] padded = new byte[m.length + 10];
      System.arraycopy(m, 0, padded, 3, m.length);
      assertThat(StreamBinding.digest(padded, 3, m.length)).isEqualTo(reference(m));
    }
  }

  @Test
  void bindsEncEveryTagTheirOrderAndTheLengthButNotTheSegmentBodies() throws Exception {
    byte[] m = sealed(3 * 4096 + 100, 1);
    byte[] d = StreamBinding.digest(m);
    byte[] enc = m.clone();
    enc[5] ^= 1;
    assertThat(StreamBinding.digest(enc)).isNotEqualTo(d);
    int[] tagEnds = {32 + 4112, 32 + 2 * 4112, 32 + 3 * 4112, m.length};
    for (int end : tagEnds) {
      byte[] t = m.clone();
      t[end - 1] ^= 1;
      assertThat(StreamBinding.digest(t)).as("tag ending at %d", end).isNotEqualTo(d);
    }
    byte[] reordered = m.clone(); // segments 0 and 1 swapped, tags with them
    System.arraycopy(m, 32 + 4112, reordered, 32, 4112);
    System.arraycopy(m, 32, reordered, 32 + 4112, 4112);
    assertThat(StreamBinding.digest(reordered)).isNotEqualTo(d);
    byte[] shorter = Arrays.copyOf(m, 32 + 3 * 4112); // the last segment dropped: still a valid length
    assertThat(StreamBinding.digest(shorter)).isNotEqualTo(d);
    // a segment's body is not bound here: the receiver's decryption authenticates it (and refuses the message)
    byte[] body = m.clone();
    body[32 + 10] ^= 1;
    assertThat(StreamBinding.digest(body)).isEqualTo(d);
    assertThatThrownBy(() -> hpke.openStream(receiver, body, "info".getBytes(), "aad".getBytes()))
        .isInstanceOf(HpkeException.class);
  }

  @Test
  void aLengthNoStreamingMessageHasIsRefused() {
    for (int len : new int[] {0, 31, 32 + 15, 32 + 4112 + 10}) {
      assertThatThrownBy(() -> StreamBinding.digest(new byte[len])).as("%d bytes", len)
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(len + " bytes has no valid length");
    }
  }
}

package org.cloister.dp.noise;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class AesCtrRandomTest {

  /**
   * The generator as it was specified before chunking: each epoch's keystream (AES-256-CTR from a zero
   * counter) generated at once, 64 KiB of output and 32 bytes that become the next key.
   */
  private static long[] reference(byte[] initialKey, int words) throws Exception {
    byte[] key = initialKey.clone();
    ByteBuffer out = ByteBuffer.allocate(words * 8).order(ByteOrder.LITTLE_ENDIAN);
    Cipher c = Cipher.getInstance("AES/CTR/NoPadding");
    while (out.hasRemaining()) {
      c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(new byte[16]));
      byte[] stream = c.doFinal(new byte[AesCtrRandom.EPOCH_BYTES + 32]);
      out.put(stream, 0, Math.min(out.remaining(), AesCtrRandom.EPOCH_BYTES));
      key = Arrays.copyOfRange(stream, AesCtrRandom.EPOCH_BYTES, AesCtrRandom.EPOCH_BYTES + 32);
    }
    out.flip();
    long[] w = new long[words];
    out.asLongBuffer().get(w);
    return w;
  }

  @Test
  void chunkedStreamIsTheEpochStreamByteForByteAcrossRekeys() throws Exception {
    for (int seed = 0; seed < 3; seed++) {
      byte[] key = new byte[32];
      new java.util.SplittableRandom(seed).nextBytes(key);
      int words = 5 * AesCtrRandom.EPOCH_BYTES / 8 + 123; // five rekeys and part of a sixth epoch
      long[] expected = reference(key, words);
      AesCtrRandom r = new AesCtrRandom(key);
      long[] actual = new long[words];
      for (int i = 0; i < words; i++) {
        actual[i] = r.nextLong();
      }
      assertThat(actual).as("seed %d", seed).isEqualTo(expected);
    }
  }

  @Test
  void aGeneratorHoldsOneChunkOfKeystreamNotAnEpoch() {
    assertThat(AesCtrRandom.CHUNK_BYTES).isLessThanOrEqualTo(4096);
    assertThat(AesCtrRandom.EPOCH_BYTES % AesCtrRandom.CHUNK_BYTES).isZero();
  }
}

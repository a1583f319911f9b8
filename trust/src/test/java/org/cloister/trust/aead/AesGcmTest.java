package org.cloister.trust.aead;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.Test;

class AesGcmTest {
  private static final HexFormat HEX = HexFormat.of();

  /** McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", test case 16 (AES-256, 96-bit IV, AAD). */
  @Test
  void matchesThePublishedGcmTestCase16() throws Exception {
    byte[] key = HEX.parseHex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    byte[] iv = HEX.parseHex("cafebabefacedbaddecaf888");
    byte[] aad = HEX.parseHex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    byte[] pt = HEX.parseHex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
    String expected = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662" + "76fc6ece0f4e1768cddf8853bb2d551b";
    byte[] ct = AesGcm.seal(key, iv, aad, pt);
    assertThat(HEX.formatHex(ct)).isEqualTo(expected);
    assertThat(AesGcm.open(key, iv, aad, ct)).isEqualTo(pt);
  }

  @Test
  void alteredAadOrCiphertextDoesNotOpen() {
    byte[] key = new byte[32];
    byte[] iv = new byte[12];
    byte[] ct = AesGcm.seal(key, iv, new byte[] {1}, new byte[] {1, 2, 3});
    assertThatThrownBy(() -> AesGcm.open(key, iv, new byte[] {2}, ct)).isInstanceOf(AEADBadTagException.class);
    ct[0] ^= 1;
    assertThatThrownBy(() -> AesGcm.open(key, iv, new byte[] {1}, ct)).isInstanceOf(AEADBadTagException.class);
    assertThatThrownBy(() -> AesGcm.seal(new byte[16], iv, new byte[0], new byte[0]))
        .hasMessageContaining("key must be 32 bytes, got 16");
  }

  @Test
  void theSegmentSinkSeesWhatOpenStreamReturnsOneAuthenticatedSegmentAtATime() throws Exception {
    byte[] key = new byte[32];
    byte[] nonce = new byte[12];
    java.util.SplittableRandom r = new java.util.SplittableRandom(11);
    for (int length : new int[] {0, 1, 4096, 4097, 3 * 4096 + 100}) {
      byte[] plain = new byte[length];
      for (int i = 0; i < length; i++) {
        plain[i] = (byte) r.nextInt(256);
      }
      byte[] sealed = AesGcm.sealStream(key, nonce, new byte[] {7}, plain);
      java.io.ByteArrayOutputStream seen = new java.io.ByteArrayOutputStream();
      java.util.List<Integer> positions = new java.util.ArrayList<>();
      int n = AesGcm.openStream(key, nonce, new byte[] {7}, sealed, 0, sealed.length, (b, off, len, position) -> {
        positions.add(position);
        seen.write(b, off, len);
      });

      assertThat(n).isEqualTo(length);
      assertThat(seen.toByteArray()).isEqualTo(AesGcm.openStream(key, nonce, new byte[] {7}, sealed)).isEqualTo(plain);
      assertThat(positions).hasSize(AesGcm.segments(length)).allMatch(p -> p % AesGcm.SEGMENT_BYTES == 0);
    }
  }

  @Test
  void aTamperedSegmentEndsTheSinkBeforeAnyOfItsBytes() throws Exception {
    byte[] key = new byte[32];
    byte[] nonce = new byte[12];
    byte[] sealed = AesGcm.sealStream(key, nonce, null, new byte[3 * 4096 + 100]);
    sealed[2 * (4096 + AesGcm.TAG_BYTES) + 5] ^= 1; // third segment (the partial last one)
    java.util.List<Integer> positions = new java.util.ArrayList<>();

    assertThatThrownBy(() -> AesGcm.openStream(key, nonce, null, sealed, 0, sealed.length,
        (b, off, len, position) -> positions.add(position))).isInstanceOf(AEADBadTagException.class);
    assertThat(positions).containsExactly(0, 4096); // the two authenticated segments only
  }
}

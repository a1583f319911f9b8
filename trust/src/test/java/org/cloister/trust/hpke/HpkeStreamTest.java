package org.cloister.trust.hpke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Random;
import org.bouncycastle.crypto.hpke.HPKE;
import org.bouncycastle.crypto.hpke.HPKEContext;
import org.cloister.trust.aead.AesGcm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The streaming form: RFC 9180 context messages 0..n-1 with aad || final-flag. */
class HpkeStreamTest {
  private static final byte[] INFO = "cloister/v1 update".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] AAD = {9, 8, 7};
  private final SecureRandom random = new SecureRandom(new byte[] {1});
  private final HpkeKeyPair recipient = new BouncyCastleHpke().deriveKeyPair(new byte[32]);

  private static byte[] plaintext(int n) {
    byte[] p = new byte[n];
    new Random(n).nextBytes(p);
    return p;
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 4095, 4096, 4097, 3 * 4096 + 5})
  void roundTripsAndReportsItsLengths(int n) throws Exception {
    byte[] p = plaintext(n);
    byte[] sealed = new Hpke(random).sealStream(recipient.publicKey(), INFO, AAD, p);
    assertThat(sealed).hasSize(n + Hpke.streamOverhead(n));
    assertThat(Hpke.streamPlaintextLength(sealed.length)).isEqualTo(n);
    byte[] out = new byte[n];
    assertThat(new Hpke().openStream(recipient, sealed, 0, sealed.length, INFO, AAD, out, 0)).isEqualTo(n);
    assertThat(out).isEqualTo(p);
  }

  private static SecureRandom seeded() throws Exception {
    SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
    r.setSeed(77);
    return r;
  }

  /** A plaintext written one segment at a time seals to exactly the bytes the whole-array form makes. */
  @ParameterizedTest
  @ValueSource(ints = {0, 1, 4096, 4097, 3 * 4096 + 5})
  void aSegmentSourceSealsTheSameMessage(int n) throws Exception {
    byte[] p = plaintext(n);
    byte[] whole = new Hpke(seeded()).sealStream(recipient.publicKey(), INFO, AAD, p);
    java.util.List<Integer> positions = new java.util.ArrayList<>();
    byte[] bySegment = new Hpke(seeded()).sealStream(recipient.publicKey(), INFO, AAD, n, (buffer, len, position) -> {
      positions.add(position);
      System.arraycopy(p, position, buffer, 0, len);
    });

    assertThat(bySegment).isEqualTo(whole);
    assertThat(positions).hasSize(AesGcm.segments(n));
    assertThat(new Hpke().openStream(recipient, bySegment, INFO, AAD)).isEqualTo(p);
  }

  /** BouncyCastle's RFC 9180 receiver context opens every segment in order: the form is standard HPKE. */
  @Test
  void bouncyCastlesMultiMessageContextOpensIt() throws Exception {
    byte[] p = plaintext(2 * 4096 + 100);
    byte[] sealed = new Hpke(random).sealStream(recipient.publicKey(), INFO, AAD, p);
    HPKE bc = new HPKE(HPKE.mode_base, HPKE.kem_X25519_SHA256, HPKE.kdf_HKDF_SHA256, HPKE.aead_AES_GCM256);
    HPKEContext ctx = bc.setupBaseR(Arrays.copyOf(sealed, 32),
        bc.deserializePrivateKey(recipient.privateKey(), recipient.publicKey()), INFO);
    ByteArrayOutputStream opened = new ByteArrayOutputStream();
    int off = 32;
    for (int i = 0; i < 3; i++) {
      int len = (i < 2 ? 4096 : 100) + 16;
      byte[] aad = Arrays.copyOf(AAD, AAD.length + 1);
      aad[AAD.length] = (byte) (i == 2 ? 1 : 0);
      opened.write(ctx.open(aad, Arrays.copyOfRange(sealed, off, off + len)));
      off += len;
    }
    assertThat(opened.toByteArray()).isEqualTo(p);
  }

  @Test
  void theBouncyCastleReferenceAndFastHpkeOpenEachOthersStreams() throws Exception {
    byte[] p = plaintext(5 * 4096 + 1);
    byte[] byBc = new BouncyCastleHpke().sealStream(recipient.publicKey(), INFO, AAD, p);
    byte[] out = new byte[p.length];
    new Hpke().openStream(recipient, byBc, 0, byBc.length, INFO, AAD, out, 0);
    assertThat(out).isEqualTo(p);
    byte[] byFast = new Hpke(random).sealStream(recipient.publicKey(), INFO, AAD, p);
    assertThat(new BouncyCastleHpke().openStream(recipient, byFast, INFO, AAD)).isEqualTo(p);
  }

  @Test
  void reorderedTruncatedOrAlteredSegmentsDoNotOpen() throws Exception {
    byte[] p = plaintext(3 * 4096);
    byte[] sealed = new Hpke(random).sealStream(recipient.publicKey(), INFO, AAD, p);
    int seg = 4096 + 16;
    byte[] swapped = sealed.clone();
    System.arraycopy(sealed, 32, swapped, 32 + seg, seg);
    System.arraycopy(sealed, 32 + seg, swapped, 32, seg);
    assertThatThrownBy(() -> open(swapped)).hasMessageContaining("authentication tag mismatch");
    // dropping the last segment leaves a valid-length message whose new last segment is not final
    assertThatThrownBy(() -> open(Arrays.copyOf(sealed, 32 + 2 * seg))).hasMessageContaining("authentication tag mismatch");
    assertThatThrownBy(() -> open(Arrays.copyOf(sealed, sealed.length - 1))).hasMessageContaining("authentication tag mismatch");
    assertThatThrownBy(() -> open(Arrays.copyOf(sealed, 32 + seg + 10))).hasMessageContaining("no valid length");
    byte[] flipped = sealed.clone();
    flipped[32 + seg + 5] ^= 1;
    assertThatThrownBy(() -> open(flipped)).hasMessageContaining("authentication tag mismatch");
    byte[] otherAad = new byte[p.length];
    assertThatThrownBy(() -> new Hpke().openStream(recipient, sealed, 0, sealed.length, INFO, new byte[] {1},
        otherAad, 0)).isInstanceOf(HpkeException.class);
  }

  @Test
  void impossibleLengthsAreRecognized() {
    assertThat(AesGcm.streamPlaintextLength(15)).isEqualTo(-1);
    assertThat(AesGcm.streamPlaintextLength(16)).isZero();
    assertThat(AesGcm.streamPlaintextLength(4096 + 16)).isEqualTo(4096);
    assertThat(AesGcm.streamPlaintextLength(4096 + 17)).isEqualTo(-1); // a second segment needs its own tag
    assertThat(AesGcm.streamPlaintextLength(4096 + 16 + 17)).isEqualTo(4097);
  }

  private void open(byte[] m) throws HpkeException {
    new Hpke().openStream(recipient, m, 0, m.length, INFO, AAD, new byte[m.length], 0);
  }
}

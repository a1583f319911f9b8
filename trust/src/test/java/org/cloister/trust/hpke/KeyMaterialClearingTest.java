package org.cloister.trust.hpke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every array of secret key material {@link Hpke} makes (ephemeral private key, DH output, the
 * KEM's PRK and shared secret, the key schedule's secret, the AEAD key, base nonce and exporter
 * secret, each HMAC output block) is all zeros once the call returns, on success and on every
 * failure path. The exported secret handed to the caller is a copy the caller owns.
 */
class KeyMaterialClearingTest {
  private static final byte[] INFO = "cloister/v1 update".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] AAD = {1, 2, 3};
  private final SecureRandom random = new SecureRandom(new byte[] {7});
  private final HpkeKeyPair recipient = new BouncyCastleHpke().deriveKeyPair(new byte[32]);
  private final List<byte[]> seen = new ArrayList<>();
  private final Hpke hpke = new Hpke(random, seen::add);

  private void assertAllCleared(String after) {
    assertThat(seen).as("secret arrays seen after %s", after).isNotEmpty();
    for (byte[] b : seen) {
      assertThat(b).as("a %d-byte secret array after %s", b.length, after).containsOnly(0);
    }
    seen.clear();
  }

  @Test
  void singleShotSealAndOpenClearEverything() throws Exception {
    byte[] sealed = hpke.seal(recipient.publicKey(), INFO, AAD, new byte[100]);
    assertAllCleared("seal");
    assertThat(hpke.open(recipient, sealed, INFO, AAD)).hasSize(100);
    assertAllCleared("open");

    byte[] tampered = sealed.clone();
    tampered[40] ^= 1;
    assertThatThrownBy(() -> hpke.open(recipient, tampered, INFO, AAD)).isInstanceOf(HpkeException.class);
    assertAllCleared("open of a tampered message (tag mismatch)");

    byte[] lowOrderEnc = sealed.clone();
    Arrays.fill(lowOrderEnc, 0, 32, (byte) 0); // X25519 with the zero point: all-zero result, refused
    assertThatThrownBy(() -> hpke.open(recipient, lowOrderEnc, INFO, AAD)).isInstanceOf(HpkeException.class);
    assertAllCleared("open with an invalid enc");

    assertThatThrownBy(() -> hpke.seal(new byte[32], INFO, AAD, new byte[1])).isInstanceOf(HpkeException.class);
    assertAllCleared("seal to an invalid public key");
  }

  @Test
  void streamSealAndOpenClearEverything() throws Exception {
    byte[] sealed = hpke.sealStream(recipient.publicKey(), INFO, AAD, new byte[10_000]);
    assertAllCleared("sealStream");
    byte[] out = new byte[10_000];
    hpke.openStream(recipient, sealed, 0, sealed.length, INFO, AAD, out, 0);
    assertAllCleared("openStream");

    byte[] tampered = sealed.clone();
    tampered[tampered.length - 1] ^= 1;
    assertThatThrownBy(() -> hpke.openStream(recipient, tampered, 0, tampered.length, INFO, AAD, out, 0))
        .isInstanceOf(HpkeException.class);
    assertAllCleared("openStream of a tampered message");
    assertThatThrownBy(() -> hpke.openStream(recipient, sealed, 0, sealed.length, INFO, new byte[] {9}, out, 0))
        .isInstanceOf(HpkeException.class);
    assertAllCleared("openStream with the wrong aad");
  }

  @Test
  void exportedSecretsAreTheCallersCopiesAndEverythingElseIsCleared() throws Exception {
    byte[] ctx = "reply".getBytes(StandardCharsets.US_ASCII);
    Hpke.SealedWithSecret s = hpke.sealAndExport(recipient.publicKey(), INFO, AAD, new byte[5], ctx, 32);
    assertAllCleared("sealAndExport");
    Hpke.OpenedWithSecret o = hpke.openAndExport(recipient, s.message(), INFO, AAD, ctx, 32);
    assertAllCleared("openAndExport");
    assertThat(o.exportedSecret()).isEqualTo(s.exportedSecret()).isNotEqualTo(new byte[32]);
  }

  @Test
  void failuresOfExportStreamAndKeyDerivationClearEverything() throws Exception {
    byte[] ctx = "reply".getBytes(StandardCharsets.US_ASCII);
    Hpke.SealedWithSecret s = hpke.sealAndExport(recipient.publicKey(), INFO, AAD, new byte[5], ctx, 32);
    seen.clear();
    assertThatThrownBy(() -> hpke.openAndExport(recipient, s.message(), INFO, new byte[] {9}, ctx, 32))
        .isInstanceOf(HpkeException.class);
    assertAllCleared("openAndExport with the wrong aad");
    byte[] lowOrderEnc = s.message().clone();
    Arrays.fill(lowOrderEnc, 0, 32, (byte) 0);
    assertThatThrownBy(() -> hpke.openAndExport(recipient, lowOrderEnc, INFO, AAD, ctx, 32))
        .isInstanceOf(HpkeException.class);
    assertAllCleared("openAndExport with an invalid enc");
    assertThatThrownBy(() -> hpke.sealAndExport(new byte[32], INFO, AAD, new byte[1], ctx, 32))
        .isInstanceOf(HpkeException.class);
    assertAllCleared("sealAndExport to an invalid public key");
    assertThatThrownBy(() -> hpke.sealStream(new byte[32], INFO, AAD, new byte[5000]))
        .isInstanceOf(HpkeException.class);
    assertAllCleared("sealStream to an invalid public key");
    assertThatThrownBy(() -> hpke.sealStream(new byte[31], INFO, AAD, new byte[5000]))
        .isInstanceOf(HpkeException.class).hasMessageContaining("32 bytes");
    assertAllCleared("sealStream to a public key of the wrong size");

    byte[] stream = hpke.sealStream(recipient.publicKey(), INFO, AAD, new byte[5000]);
    seen.clear();
    Arrays.fill(stream, 0, 32, (byte) 0);
    assertThatThrownBy(() -> hpke.openStream(recipient, stream, INFO, AAD)).isInstanceOf(HpkeException.class);
    assertAllCleared("openStream with an invalid enc");

    hpke.deriveKeyPair(new byte[32]);
    assertAllCleared("deriveKeyPair");
  }

  @Test
  void aStreamThatFailsInALaterSegmentLeavesNoPlaintextOfEarlierSegments() throws Exception {
    byte[] plain = new byte[3 * 4096];
    Arrays.fill(plain, (byte) 0x5a);
    byte[] sealed = hpke.sealStream(recipient.publicKey(), INFO, AAD, plain);
    sealed[sealed.length - 1] ^= 1; // the last segment's tag: segments 0 and 1 authenticate and are decrypted first
    byte[] out = new byte[plain.length];
    assertThatThrownBy(() -> hpke.openStream(recipient, sealed, 0, sealed.length, INFO, AAD, out, 0))
        .isInstanceOf(HpkeException.class);
    assertThat(out).as("output after a refused stream").containsOnly(0);
  }
}

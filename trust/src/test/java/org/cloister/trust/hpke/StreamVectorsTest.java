package org.cloister.trust.hpke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import org.bouncycastle.crypto.hpke.HPKE;
import org.bouncycastle.crypto.hpke.HPKEContext;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.X25519PublicKeyParameters;
import org.junit.jupiter.api.Test;

/**
 * The segmented stream format (docs/trust.md, "The segmented stream format") against our checked-in
 * vectors, which BouncyCastle's RFC 9180 sender context made (one Seal per 4096-byte segment with
 * {@code aad || final-flag}): Hpke reproduces them byte for byte from the same keys, opens them,
 * and BouncyCastle's receiver context opens them segment by segment.
 */
class StreamVectorsTest {
  private static final HexFormat HEX = HexFormat.of();

  /** A test double of randomness: returns fixed bytes (the vectors' ephemeral private key). */
  private static final class FixedBytes extends SecureRandom {
    private final byte[] bytes;

    FixedBytes(byte[] bytes) {
      this.bytes = bytes.clone();
    }

    @Override
    public void nextBytes(byte[] out) {
      assertThat(out).hasSameSizeAs(bytes);
      System.arraycopy(bytes, 0, out, 0, bytes.length);
    }
  }

  private static JsonNode vectors() throws Exception {
    try (InputStream in = StreamVectorsTest.class.getResourceAsStream("stream4k-vectors.json")) {
      assertThat(in).as("stream4k-vectors.json on the test class path").isNotNull();
      return new ObjectMapper().readTree(in);
    }
  }

  private static byte[] plaintext(int n) {
    byte[] p = new byte[n];
    for (int i = 0; i < n; i++) {
      p[i] = (byte) (i % 251);
    }
    return p;
  }

  private static byte[] hex(JsonNode n, String field) {
    return HEX.parseHex(n.get(field).asText());
  }

  @Test
  void hpkeReproducesAndOpensEveryVector() throws Exception {
    JsonNode v = vectors();
    assertThat(v.get("format").asText()).isEqualTo("hpke-x25519-aes256gcm-stream4k-v1");
    HpkeKeyPair recipient = new HpkeKeyPair(hex(v, "pkR"), hex(v, "skR"));
    Hpke hpke = new Hpke();
    int checked = 0;
    for (JsonNode t : v.get("vectors")) {
      int len = t.get("plaintext_length").asInt();
      byte[] aad = hex(t, "aad");
      byte[] expected = hex(t, "message");
      byte[] sealed = new Hpke(new FixedBytes(hex(v, "skE"))).sealStream(hex(v, "pkR"), hex(v, "info"), aad, plaintext(len));
      assertThat(HEX.formatHex(sealed)).as("sealStream, %d bytes, aad %s", len, t.get("aad")).isEqualTo(HEX.formatHex(expected));
      byte[] out = new byte[len];
      assertThat(hpke.openStream(recipient, expected, 0, expected.length, hex(v, "info"), aad, out, 0)).isEqualTo(len);
      assertThat(out).isEqualTo(plaintext(len));
      checked++;
    }
    assertThat(checked).isEqualTo(12);
  }

  @Test
  void bouncyCastlesReceiverContextOpensEveryVectorSegmentBySegment() throws Exception {
    JsonNode v = vectors();
    HPKE bc = new HPKE(HPKE.mode_base, HPKE.kem_X25519_SHA256, HPKE.kdf_HKDF_SHA256, HPKE.aead_AES_GCM256);
    var kpR = new org.bouncycastle.crypto.AsymmetricCipherKeyPair(new X25519PublicKeyParameters(hex(v, "pkR")),
        new X25519PrivateKeyParameters(hex(v, "skR")));
    for (JsonNode t : v.get("vectors")) {
      int len = t.get("plaintext_length").asInt();
      byte[] aad = hex(t, "aad");
      byte[] msg = hex(t, "message");
      HPKEContext ctx = bc.setupBaseR(Arrays.copyOf(msg, 32), kpR, hex(v, "info"));
      int segments = Math.max(1, (len + 4095) / 4096);
      ByteArrayOutputStream pt = new ByteArrayOutputStream();
      int off = 32;
      for (int i = 0; i < segments; i++) {
        int segLen = Math.min(4096, len - i * 4096) + 16;
        byte[] segAad = Arrays.copyOf(aad, aad.length + 1);
        segAad[aad.length] = (byte) (i == segments - 1 ? 1 : 0);
        pt.write(ctx.open(segAad, Arrays.copyOfRange(msg, off, off + segLen)));
        off += segLen;
      }
      assertThat(off).isEqualTo(msg.length);
      assertThat(pt.toByteArray()).isEqualTo(plaintext(len));
    }
  }

  @Test
  void aVectorCutAfterAnyNonFinalSegmentIsRefused() throws Exception {
    JsonNode v = vectors();
    HpkeKeyPair recipient = new HpkeKeyPair(hex(v, "pkR"), hex(v, "skR"));
    for (JsonNode t : v.get("vectors")) {
      if (t.get("plaintext_length").asInt() != 8197) {
        continue;
      }
      byte[] msg = hex(t, "message");
      byte[] cut = Arrays.copyOf(msg, 32 + 2 * (4096 + 16)); // two whole segments, neither flagged final
      assertThatThrownBy(() -> new Hpke().openStream(recipient, cut, 0, cut.length, hex(v, "info"), hex(t, "aad"),
          new byte[8192], 0)).isInstanceOf(HpkeException.class).hasMessageContaining("authentication");
    }
  }
}

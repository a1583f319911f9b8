package org.cloister.trust.hpke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.hpke.HPKE;
import org.bouncycastle.crypto.hpke.HPKEContext;
import org.bouncycastle.crypto.hpke.HPKEContextWithEncapsulation;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BouncyCastleHpkeTest {
  private static final HexFormat HEX = HexFormat.of();
  private static JsonNode vectors;
  private static JsonNode vector;
  private final BouncyCastleHpke hpke = new BouncyCastleHpke();

  @BeforeAll
  static void load() throws Exception {
    try (InputStream in = BouncyCastleHpkeTest.class.getResourceAsStream("/hpke/rfc9180-vectors.json")) {
      vectors = new ObjectMapper().readTree(in);
    }
    vector = vectors.get("base_x25519_sha256_aes256gcm");
  }

  private static byte[] hex(JsonNode node, String field) {
    return HEX.parseHex(node.get(field).asText());
  }

  @Test
  void suiteIdentifiersMatchVector() {
    assertThat(vector.get("mode").asInt()).isZero();
    assertThat(vector.get("kem_id").asInt()).isEqualTo(BouncyCastleHpke.KEM_ID);
    assertThat(vector.get("kdf_id").asInt()).isEqualTo(BouncyCastleHpke.KDF_ID);
    assertThat(vector.get("aead_id").asInt()).isEqualTo(BouncyCastleHpke.AEAD_ID);
  }

  @Test
  void deriveKeyPairMatchesRfc9180AppendixA1() {
    JsonNode a1 = vectors.get("a1_base_x25519_sha256_aes128gcm");
    HpkeKeyPair r = hpke.deriveKeyPair(hex(a1, "ikmR"));
    assertThat(HEX.formatHex(r.privateKey())).isEqualTo(a1.get("skRm").asText());
    assertThat(HEX.formatHex(r.publicKey())).isEqualTo(a1.get("pkRm").asText());
    HpkeKeyPair e = hpke.deriveKeyPair(hex(a1, "ikmE"));
    assertThat(HEX.formatHex(e.privateKey())).isEqualTo(a1.get("skEm").asText());
    assertThat(HEX.formatHex(e.publicKey())).isEqualTo(a1.get("pkEm").asText());
  }

  @Test
  void publicKeysOfVectorPrivateKeys() {
    assertThat(HEX.formatHex(hpke.keyPairFromPrivateKey(hex(vector, "skRm")).publicKey()))
        .isEqualTo(vector.get("pkRm").asText());
    assertThat(HEX.formatHex(hpke.keyPairFromPrivateKey(hex(vector, "skEm")).publicKey()))
        .isEqualTo(vector.get("pkEm").asText());
  }

  @Test
  void sealWithVectorEphemeralReproducesVector() throws Exception {
    JsonNode first = vector.get("encryptions").get(0);
    HpkeCiphertext ct = hpke.seal(hex(vector, "pkRm"), hex(vector, "info"), hex(first, "aad"),
        hex(first, "plaintext"), hpke.keyPairFromPrivateKey(hex(vector, "skEm")));
    assertThat(HEX.formatHex(ct.enc())).isEqualTo(vector.get("pkEm").asText());
    assertThat(HEX.formatHex(ct.ciphertext())).isEqualTo(first.get("ciphertext").asText());
  }

  @Test
  void openVectorCiphertext() throws Exception {
    JsonNode first = vector.get("encryptions").get(0);
    HpkeKeyPair r = hpke.keyPairFromPrivateKey(hex(vector, "skRm"));
    byte[] pt = hpke.open(r, new HpkeCiphertext(hex(vector, "pkEm"), hex(first, "ciphertext")),
        hex(vector, "info"), hex(first, "aad"));
    assertThat(pt).isEqualTo(hex(first, "plaintext"));
    assertThat(new String(pt, StandardCharsets.US_ASCII)).isEqualTo("Beauty is truth, truth beauty");
  }

  @Test
  void underlyingContextMatchesSecondEncryption() throws Exception {
    // Checks sequence-number handling of the same BouncyCastle suite BouncyCastleHpke uses (BouncyCastleHpke itself is single-shot).
    HPKE suite = new HPKE(HPKE.mode_base, HPKE.kem_X25519_SHA256, HPKE.kdf_HKDF_SHA256, HPKE.aead_AES_GCM256);
    AsymmetricCipherKeyPair kpR = suite.deserializePrivateKey(hex(vector, "skRm"), hex(vector, "pkRm"));
    HPKEContext receiver = suite.setupBaseR(hex(vector, "pkEm"), kpR, hex(vector, "info"));
    JsonNode e0 = vector.get("encryptions").get(0);
    JsonNode e1 = vector.get("encryptions").get(1);
    assertThat(receiver.open(hex(e0, "aad"), hex(e0, "ciphertext"))).isEqualTo(hex(e0, "plaintext"));
    assertThat(receiver.open(hex(e1, "aad"), hex(e1, "ciphertext"))).isEqualTo(hex(e1, "plaintext"));
  }

  @Test
  void rfc9180AppendixA1Aes128VectorThroughSameKemAndKdf() throws Exception {
    JsonNode a1 = vectors.get("a1_base_x25519_sha256_aes128gcm");
    HPKE suite = new HPKE(HPKE.mode_base, HPKE.kem_X25519_SHA256, HPKE.kdf_HKDF_SHA256, HPKE.aead_AES_GCM128);
    AsymmetricCipherKeyPair kpR = suite.deriveKeyPair(hex(a1, "ikmR"));
    HPKEContextWithEncapsulation sender = suite.setupBaseS(kpR.getPublic(), hex(a1, "info"),
        suite.deriveKeyPair(hex(a1, "ikmE")));
    assertThat(HEX.formatHex(sender.getEncapsulation())).isEqualTo(a1.get("pkEm").asText());
    JsonNode e0 = a1.get("encryptions").get(0);
    assertThat(HEX.formatHex(sender.seal(hex(e0, "aad"), hex(e0, "plaintext"))))
        .isEqualTo(e0.get("ciphertext").asText());
    JsonNode export = a1.get("exports").get(0);
    assertThat(HEX.formatHex(sender.export(new byte[0], export.get("exportLength").asInt())))
        .isEqualTo(export.get("exportValue").asText());
  }

  @Test
  void roundTripWithRandomKeys() throws Exception {
    HpkeKeyPair r = hpke.generateKeyPair();
    byte[] pt = new byte[100_000];
    for (int i = 0; i < pt.length; i++) {
      pt[i] = (byte) (i * 31);
    }
    HpkeCiphertext ct = hpke.seal(r.publicKey(), b("round-7"), b("site-3"), pt);
    assertThat(ct.ciphertext()).hasSize(pt.length + BouncyCastleHpke.TAG_BYTES);
    assertThat(hpke.open(r, ct, b("round-7"), b("site-3"))).isEqualTo(pt);
    assertThat(hpke.open(r, HpkeCiphertext.fromBytes(ct.toBytes()), b("round-7"), b("site-3"))).isEqualTo(pt);
    HpkeCiphertext again = hpke.seal(r.publicKey(), b("round-7"), b("site-3"), pt);
    assertThat(again.enc()).isNotEqualTo(ct.enc());
  }

  @Test
  void emptyPlaintextAndNullInfoAad() throws Exception {
    HpkeKeyPair r = hpke.generateKeyPair();
    HpkeCiphertext ct = hpke.seal(r.publicKey(), null, null, new byte[0]);
    assertThat(hpke.open(r, ct, new byte[0], new byte[0])).isEmpty();
  }

  @Test
  void tamperingIsDetected() throws Exception {
    HpkeKeyPair r = hpke.generateKeyPair();
    HpkeCiphertext ct = hpke.seal(r.publicKey(), b("info"), b("aad"), b("model update"));

    assertOpenFails(r, ct, b("info"), b("aaD"));
    assertOpenFails(r, ct, b("inf0"), b("aad"));
    assertOpenFails(hpke.generateKeyPair(), ct, b("info"), b("aad"));
    byte[] body = ct.ciphertext();
    body[0] ^= 1;
    assertOpenFails(r, new HpkeCiphertext(ct.enc(), body), b("info"), b("aad"));
    byte[] tag = ct.ciphertext();
    tag[tag.length - 1] ^= (byte) 0x80;
    assertOpenFails(r, new HpkeCiphertext(ct.enc(), tag), b("info"), b("aad"));
    byte[] enc = ct.enc();
    enc[5] ^= 4;
    assertOpenFails(r, new HpkeCiphertext(enc, ct.ciphertext()), b("info"), b("aad"));
  }

  @Test
  void invalidKeysAndShortMessagesAreRefused() {
    HpkeKeyPair r = hpke.generateKeyPair();
    assertThatThrownBy(() -> hpke.seal(new byte[31], null, null, b("x")))
        .isInstanceOf(HpkeException.class).hasMessageContaining("32 bytes");
    // The all-zero point is of low order: X25519 yields an all-zero shared secret, which RFC 9180 requires rejecting.
    assertThatThrownBy(() -> hpke.seal(new byte[32], null, null, b("x")))
        .isInstanceOf(HpkeException.class).hasMessageContaining("invalid recipient public key");
    assertThatThrownBy(() -> hpke.open(r, new HpkeCiphertext(new byte[32], new byte[16]), null, null))
        .isInstanceOf(HpkeException.class);
    assertThatThrownBy(() -> HpkeCiphertext.fromBytes(new byte[47]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shorter");
  }

  @Test
  void privateKeyNeverPrinted() {
    HpkeKeyPair r = hpke.generateKeyPair();
    assertThat(r.toString()).contains("<redacted>").doesNotContain(HEX.formatHex(r.privateKey()));
  }

  private void assertOpenFails(HpkeKeyPair r, HpkeCiphertext ct, byte[] info, byte[] aad) {
    assertThatThrownBy(() -> hpke.open(r, ct, info, aad)).isInstanceOf(HpkeException.class)
        .hasMessageContaining("HPKE open failed");
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void sealAndExportGivesTheRecipientTheSameSecretAndOnlyForThatContext() throws Exception {
    HpkeKeyPair r = hpke.deriveKeyPair(new byte[32]);
    byte[] ctx = "reply".getBytes(StandardCharsets.US_ASCII);
    BouncyCastleHpke.SealedWithSecret s = hpke.sealAndExport(r.publicKey(), b("info"), b("aad"), b("query"), ctx, 32);
    BouncyCastleHpke.OpenedWithSecret o = hpke.openAndExport(r, s.ciphertext(), b("info"), b("aad"), ctx, 32);
    assertThat(o.plaintext()).isEqualTo(b("query"));
    assertThat(o.exportedSecret()).hasSize(32).isEqualTo(s.exportedSecret());
    assertThat(hpke.openAndExport(r, s.ciphertext(), b("info"), b("aad"), b("other"), 32).exportedSecret())
        .isNotEqualTo(s.exportedSecret());
    // a second message to the same key has its own secret
    assertThat(hpke.sealAndExport(r.publicKey(), b("info"), b("aad"), b("query"), ctx, 32).exportedSecret())
        .isNotEqualTo(s.exportedSecret());
    assertThatThrownBy(() -> hpke.openAndExport(r, s.ciphertext(), b("info"), b("other aad"), ctx, 32))
        .isInstanceOf(HpkeException.class);
    assertThatThrownBy(() -> hpke.sealAndExport(r.publicKey(), null, null, b("q"), ctx, 8))
        .isInstanceOf(IllegalArgumentException.class);
  }
}

package org.cloister.trust.hpke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The enclave's HPKE against independent references: RFC 9180 test vectors (Appendix A.1.1 values
 * for the key schedule, the final JSON vector for the AES-256-GCM suite) and BouncyCastle's HPKE
 * (trust module) in both directions.
 */
class HpkeTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final byte[] INFO = HEX.parseHex("4f6465206f6e2061204772656369616e2055726e"); // "Ode on a Grecian Urn"
  private static final byte[] PT = HEX.parseHex("4265617574792069732074727574682c20747275746820626561757479");
  private static final byte[] AAD0 = HEX.parseHex("436f756e742d30"); // "Count-0", sequence number 0

  @Test
  void keyScheduleMatchesRfc9180AppendixA11() throws Exception {
    // DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode_base: the same KEM and KDF as ours
    HpkeKeyPair r = new HpkeKeyPair(HEX.parseHex("3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"),
        HEX.parseHex("4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8"));
    byte[] enc = HEX.parseHex("37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431");
    byte[] shared = new Hpke().sharedSecret(r, enc);
    assertThat(HEX.formatHex(shared)).isEqualTo("fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc");
    byte[][] k = Hpke.keySchedule(shared, INFO, 0x0001, 16);
    assertThat(HEX.formatHex(k[0])).isEqualTo("4531685d41d65f03dc48f6b8302c05b0");
    assertThat(HEX.formatHex(k[1])).isEqualTo("56d890e5accaaf011cff4b7d");
    assertThat(HEX.formatHex(k[2])).isEqualTo("45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8");

    // the vector's first ciphertext under that key and nonce (AES-128-GCM by the JDK, test side only)
    byte[] ct = HEX.parseHex("f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a");
    javax.crypto.Cipher c = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
    c.init(javax.crypto.Cipher.DECRYPT_MODE, new javax.crypto.spec.SecretKeySpec(k[0], "AES"),
        new javax.crypto.spec.GCMParameterSpec(128, k[1]));
    c.updateAAD(AAD0);
    assertThat(c.doFinal(ct)).isEqualTo(PT);
  }

  @Test
  void keysAreDerivedAsRfc9180AppendixA1AndGeneratedAsBouncyCastleRecomputesThem() throws Exception {
    com.fasterxml.jackson.databind.JsonNode a1;
    try (java.io.InputStream in = getClass().getResourceAsStream("/hpke/rfc9180-vectors.json")) {
      a1 = new com.fasterxml.jackson.databind.ObjectMapper().readTree(in).get("a1_base_x25519_sha256_aes128gcm");
    }
    Hpke hpke = new Hpke();
    HpkeKeyPair r = hpke.deriveKeyPair(HEX.parseHex(a1.get("ikmR").asText()));
    assertThat(HEX.formatHex(r.privateKey())).isEqualTo(a1.get("skRm").asText());
    assertThat(HEX.formatHex(r.publicKey())).isEqualTo(a1.get("pkRm").asText());
    HpkeKeyPair e = hpke.deriveKeyPair(HEX.parseHex(a1.get("ikmE").asText()));
    assertThat(HEX.formatHex(e.privateKey())).isEqualTo(a1.get("skEm").asText());
    assertThat(HEX.formatHex(e.publicKey())).isEqualTo(a1.get("pkEm").asText());
    assertThatThrownBy(() -> hpke.deriveKeyPair(new byte[31])).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 32 bytes");

    HpkeKeyPair g = new Hpke(new SecureRandom(new byte[] {4})).generateKeyPair();
    assertThat(new BouncyCastleHpke().keyPairFromPrivateKey(g.privateKey())).isEqualTo(g);
  }

  @Test
  void aes256GcmSuiteMatchesTheRfc9180JsonVector() throws Exception {
    HpkeKeyPair r = new HpkeKeyPair(HEX.parseHex("430f4b9859665145a6b1ba274024487bd66f03a2dd577d7753c68d7d7d00c00c"),
        HEX.parseHex("497b4502664cfea5d5af0b39934dac72242a74f8480451e1aee7d6a53320333d"));
    byte[] enc = HEX.parseHex("6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256");
    byte[] ct = HEX.parseHex("e5d84cd531cfb583096e7cfa9641bd3079cf3a91cda813c52deb5f512be9931980a41de125a925cdad859d5b7a");
    Hpke hpke = new Hpke();
    assertThat(hpke.open(r, concat(enc, ct), INFO, AAD0)).isEqualTo(PT);
    byte[] skE = HEX.parseHex("179d4b53b6365c45b600c4163b61d95cbc2f4d9e36f1695558dce265ab8bab11");
    assertThat(hpke.seal(r.publicKey(), INFO, AAD0, PT, skE)).isEqualTo(concat(enc, ct));
  }

  @Test
  void interoperatesWithBouncyCastleHpkeBothWays() throws Exception {
    BouncyCastleHpke bc = new BouncyCastleHpke();
    Hpke fast = new Hpke();
    HpkeKeyPair r = bc.generateKeyPair();
    byte[] info = "cloister/v1 update".getBytes(StandardCharsets.US_ASCII);
    byte[] aad = "study|round|site".getBytes(StandardCharsets.US_ASCII);
    byte[] pt = new byte[100_003];
    new SecureRandom().nextBytes(pt);

    byte[] fromBc = bc.seal(r.publicKey(), info, aad, pt).toBytes();
    assertThat(fast.open(r, fromBc, info, aad)).isEqualTo(pt);

    byte[] fromFast = fast.seal(r.publicKey(), info, aad, pt);
    assertThat(bc.open(r, HpkeCiphertext.fromBytes(fromFast), info, aad)).isEqualTo(pt);

    // open into an offset of a larger buffer, from an offset of a larger message
    byte[] padded = new byte[fromBc.length + 10];
    System.arraycopy(fromBc, 0, padded, 7, fromBc.length);
    byte[] out = new byte[pt.length + 5];
    assertThat(fast.open(r, padded, 7, fromBc.length, info, aad, out, 5)).isEqualTo(pt.length);
    assertThat(java.util.Arrays.copyOfRange(out, 5, out.length)).isEqualTo(pt);
  }

  @Test
  void tamperingWrongKeyWrongAadAndShortMessagesAreRefused() throws Exception {
    Hpke fast = new Hpke();
    HpkeKeyPair r = new BouncyCastleHpke().generateKeyPair();
    byte[] info = "i".getBytes(StandardCharsets.US_ASCII);
    byte[] aad = "a".getBytes(StandardCharsets.US_ASCII);
    byte[] msg = fast.seal(r.publicKey(), info, aad, PT);

    byte[] flipped = msg.clone();
    flipped[msg.length - 20] ^= 1;
    assertThatThrownBy(() -> fast.open(r, flipped, info, aad)).isInstanceOf(HpkeException.class)
        .hasMessageContaining("authentication tag mismatch");
    byte[] flippedEnc = msg.clone();
    flippedEnc[3] ^= 1;
    assertThatThrownBy(() -> fast.open(r, flippedEnc, info, aad)).isInstanceOf(HpkeException.class);
    assertThatThrownBy(() -> fast.open(r, msg, info, "b".getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(HpkeException.class);
    assertThatThrownBy(() -> fast.open(r, msg, "j".getBytes(StandardCharsets.US_ASCII), aad))
        .isInstanceOf(HpkeException.class);
    assertThatThrownBy(() -> fast.open(new BouncyCastleHpke().generateKeyPair(), msg, info, aad)).isInstanceOf(HpkeException.class);
    assertThatThrownBy(() -> fast.open(r, new byte[47], info, aad)).isInstanceOf(HpkeException.class)
        .hasMessageContaining("shorter than enc (32) + tag (16)");
    // a low-order point as enc gives an all-zero X25519 result
    byte[] zeroEnc = msg.clone();
    java.util.Arrays.fill(zeroEnc, 0, 32, (byte) 0);
    assertThatThrownBy(() -> fast.open(r, zeroEnc, info, aad)).isInstanceOf(HpkeException.class)
        .hasMessageContaining("enc");
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void exportedSecretsMatchBouncyCastleHpkeInBothDirectionsAndRfc9180AppendixA1() throws Exception {
    BouncyCastleHpke bc = new BouncyCastleHpke();
    Hpke fast = new Hpke();
    HpkeKeyPair r = bc.generateKeyPair();
    byte[] ctx = "reply".getBytes(StandardCharsets.US_ASCII);
    byte[] info = "info".getBytes(StandardCharsets.US_ASCII);
    byte[] aad = "aad".getBytes(StandardCharsets.US_ASCII);
    byte[] msg = "query".getBytes(StandardCharsets.US_ASCII);
    Hpke.SealedWithSecret f = fast.sealAndExport(r.publicKey(), info, aad, msg, ctx, 32);
    BouncyCastleHpke.OpenedWithSecret byBc = bc.openAndExport(r, HpkeCiphertext.fromBytes(f.message()), info, aad, ctx,
        32);
    assertThat(byBc.plaintext()).isEqualTo(msg);
    assertThat(byBc.exportedSecret()).isEqualTo(f.exportedSecret());
    BouncyCastleHpke.SealedWithSecret b = bc.sealAndExport(r.publicKey(), info, aad, msg, ctx, 32);
    Hpke.OpenedWithSecret byFast = fast.openAndExport(r, b.ciphertext().toBytes(), info, aad, ctx, 32);
    assertThat(byFast.plaintext()).isEqualTo(msg);
    assertThat(byFast.exportedSecret()).isEqualTo(b.exportedSecret());
    assertThatThrownBy(() -> fast.openAndExport(r, b.ciphertext().toBytes(), info, "other".getBytes(StandardCharsets.US_ASCII),
        ctx, 32)).isInstanceOf(HpkeException.class);

    // RFC 9180 A.1 (AES-128-GCM suite): the exporter secret above gives the first export vector
    // (empty context, 32 bytes); Hpke's Export is the same LabeledExpand under the exporter secret
    com.fasterxml.jackson.databind.JsonNode a1;
    try (java.io.InputStream in = getClass().getResourceAsStream("/hpke/rfc9180-vectors.json")) {
      a1 = new com.fasterxml.jackson.databind.ObjectMapper().readTree(in).get("a1_base_x25519_sha256_aes128gcm");
    }
    HexFormat hex = HexFormat.of();
    com.fasterxml.jackson.databind.JsonNode e0 = a1.get("exports").get(0);
    byte[][] k = Hpke.keySchedule(new Hpke().sharedSecret(new Hpke().keyPairFromPrivateKey(hex.parseHex(
        a1.get("skRm").asText())), hex.parseHex(a1.get("pkEm").asText())), hex.parseHex(a1.get("info").asText()), 0x0001, 16);
    assertThat(hex.formatHex(Hpke.export(k[2], hex.parseHex(e0.get("exportContext").asText()),
        e0.get("exportLength").asInt(), 0x0001))).isEqualTo(e0.get("exportValue").asText());
  }
}

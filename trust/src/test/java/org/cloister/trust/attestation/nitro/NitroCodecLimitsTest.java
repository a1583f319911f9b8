package org.cloister.trust.attestation.nitro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.FailureReason;
import org.junit.jupiter.api.Test;

/** Structural checks and field limits: every violation is MALFORMED with a message naming the field. */
class NitroCodecLimitsTest {
  private final NitroCodec codec = new NitroCodec();

  private static TreeMap<Integer, byte[]> pcrs(int count, int size) {
    TreeMap<Integer, byte[]> m = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      m.put(i, new byte[size]);
    }
    return m;
  }

  private byte[] doc(String moduleId, TreeMap<Integer, byte[]> pcrs, byte[] publicKey, byte[] userData,
      byte[] nonce) {
    byte[] payload = codec.payload(moduleId, 1L, pcrs, new byte[] {1}, List.of(), publicKey, userData, nonce);
    return codec.sign1(NitroCodec.PROTECTED_ES384, payload, new byte[96]);
  }

  private void assertMalformed(byte[] doc, String fragment) {
    assertThatThrownBy(() -> codec.parse(doc)).isInstanceOfSatisfying(AttestationException.class, e -> {
      assertThat(e.reason()).isEqualTo(FailureReason.MALFORMED);
      assertThat(e.getMessage()).contains(fragment);
    });
  }

  @Test
  void acceptsFieldsAtTheirLimits() throws Exception {
    NitroDocument d = codec.parse(doc("m", pcrs(32, 64), new byte[1024], new byte[1024], new byte[1024]));
    assertThat(d.pcrs()).hasSize(32);
    assertThat(d.userData()).hasSize(1024);
    assertThat(d.nonce()).hasSize(1024);
    assertThat(d.publicKey()).hasSize(1024);
  }

  @Test
  void nullOptionalFieldsAreAbsent() throws Exception {
    NitroDocument d = codec.parse(doc("m", pcrs(3, 48), null, null, null));
    assertThat(d.userData()).isNull();
    assertThat(d.nonce()).isNull();
    assertThat(d.publicKey()).isNull();
  }

  @Test
  void rejectsOversizedOptionalFields() {
    assertMalformed(doc("m", pcrs(3, 48), null, new byte[1025], null), "user_data");
    assertMalformed(doc("m", pcrs(3, 48), null, null, new byte[1025]), "nonce");
    assertMalformed(doc("m", pcrs(3, 48), new byte[1025], null, null), "public_key");
  }

  @Test
  void rejectsBadPcrs() {
    assertMalformed(doc("m", pcrs(3, 47), null, null, null), "PCR0 must be 32, 48 or 64 bytes");
    TreeMap<Integer, byte[]> tooMany = pcrs(32, 48);
    tooMany.put(32, new byte[48]);
    assertMalformed(doc("m", tooMany, null, null, null), "pcrs must hold 1..32 entries");
    TreeMap<Integer, byte[]> noPcr1 = pcrs(3, 48);
    noPcr1.remove(1);
    assertMalformed(doc("m", noPcr1, null, null, null), "PCR1 is missing");
  }

  @Test
  void rejectsEmptyModuleId() {
    assertMalformed(doc("", pcrs(3, 48), null, null, null), "module_id");
  }

  @Test
  void rejectsWrongDigestAndAlgorithm() {
    byte[] good = doc("m", pcrs(3, 48), null, null, null);
    String hex = HexFormat.of().formatHex(good);
    // "SHA384" -> "SHA256"
    String sha256 = hex.replace(HexFormat.of().formatHex("SHA384".getBytes()), HexFormat.of().formatHex("SHA256".getBytes()));
    assertMalformed(HexFormat.of().parseHex(sha256), "digest must be SHA384");
    // alg -35 (ES384, 0x38 0x22) -> -7 (ES256, 0x26) keeps the header 4 bytes long: a1 01 26 ... is shorter, so use -36
    byte[] es512 = good.clone();
    es512[5] = 0x23;
    assertMalformed(es512, "alg must be -35");
  }

  @Test
  void rejectsNonCoseInput() {
    assertMalformed(new byte[0], "empty");
    assertMalformed("hello".getBytes(), "not a COSE_Sign1");
    assertMalformed(new byte[] {(byte) 0x84, 0x40}, "not well-formed CBOR");
    byte[] good = doc("m", pcrs(3, 48), null, null, null);
    byte[] trailing = java.util.Arrays.copyOf(good, good.length + 1);
    assertMalformed(trailing, "trailing");
    assertMalformed(new byte[NitroCodec.MAX_DOCUMENT_BYTES + 1], "limit");
  }

  @Test
  void rejectsShortSignature() {
    byte[] payload = codec.payload("m", 1L, pcrs(3, 48), new byte[] {1}, List.of(), null, null, null);
    assertMalformed(codec.sign1(NitroCodec.PROTECTED_ES384, payload, new byte[72]), "raw r||s");
  }

  @Test
  void acceptsCoseTag18() throws Exception {
    byte[] good = doc("m", pcrs(3, 48), null, null, null);
    byte[] tagged = new byte[good.length + 1];
    tagged[0] = (byte) 0xd2;
    System.arraycopy(good, 0, tagged, 1, good.length);
    assertThat(codec.parse(tagged).moduleId()).isEqualTo("m");
  }

  @Test
  void sigStructureEncodingIsCanonical() {
    byte[] s = codec.sigStructure(NitroCodec.PROTECTED_ES384, new byte[] {1, 2});
    // [ "Signature1", h'a1013822', h'', h'0102' ]
    assertThat(HexFormat.of().formatHex(s)).isEqualTo("846a5369676e61747572653144a101382240420102");
  }
}

package org.cloister.trust.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPrivateKeySpec;
import java.security.spec.ECPublicKeySpec;
import java.util.HexFormat;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERSequence;
import org.junit.jupiter.api.Test;

/** {@link P256Ecdsa} against RFC 6979's published vectors and the JDK's own ECDSA, both ways. */
class P256EcdsaTest {
  private static final HexFormat HEX = HexFormat.of();

  // RFC 6979, A.2.5 (ECDSA, 256 bits, prime field): key pair and the SHA-256 signatures of "sample" and "test"
  private static final BigInteger X = new BigInteger("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721", 16);
  private static final BigInteger UX = new BigInteger("60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6", 16);
  private static final BigInteger UY = new BigInteger("7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299", 16);

  private static ECParameterSpec p256() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return ((ECPublicKey) g.generateKeyPair().getPublic()).getParams();
  }

  private static byte[] der(String r, String s) throws Exception {
    return new DERSequence(new ASN1Integer[] {new ASN1Integer(new BigInteger(r, 16)), new ASN1Integer(new BigInteger(s, 16))})
        .getEncoded();
  }

  @Test
  void signsRfc6979VectorsExactly() throws Exception {
    KeyFactory kf = KeyFactory.getInstance("EC");
    PrivateKey key = kf.generatePrivate(new ECPrivateKeySpec(X, p256()));
    PublicKey pub = kf.generatePublic(new ECPublicKeySpec(new ECPoint(UX, UY), p256()));
    byte[] sample = "sample".getBytes(StandardCharsets.US_ASCII);
    byte[] test = "test".getBytes(StandardCharsets.US_ASCII);
    byte[] sampleSig = der("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
        "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8");
    byte[] testSig = der("F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367",
        "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083");
    assertThat(P256Ecdsa.isP256(key)).isTrue();
    assertThat(HEX.formatHex(P256Ecdsa.sign(sample, key))).isEqualTo(HEX.formatHex(sampleSig));
    assertThat(HEX.formatHex(P256Ecdsa.sign(test, key))).isEqualTo(HEX.formatHex(testSig));
    assertThat(P256Ecdsa.verify(sample, sampleSig, pub)).isTrue();
    assertThat(P256Ecdsa.verify(test, sampleSig, pub)).isFalse();
    // the public entry point takes this path for a P-256 key
    assertThat(HEX.formatHex(SpendSignatures.sign(sample, key))).isEqualTo(HEX.formatHex(sampleSig));
  }

  @Test
  void jdkAndThisImplementationVerifyEachOther() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom(new byte[] {7}));
    SecureRandom rnd = new SecureRandom(new byte[] {1});
    for (int i = 0; i < 50; i++) {
      var kp = g.generateKeyPair();
      byte[] msg = new byte[1 + i * 7];
      rnd.nextBytes(msg);
      byte[] ours = P256Ecdsa.sign(msg, kp.getPrivate());
      Signature jdk = Signature.getInstance("SHA256withECDSA");
      jdk.initVerify(kp.getPublic());
      jdk.update(msg);
      assertThat(jdk.verify(ours)).as("JDK verifies ours").isTrue();
      jdk.initSign(kp.getPrivate());
      jdk.update(msg);
      byte[] theirs = jdk.sign();
      assertThat(P256Ecdsa.verify(msg, theirs, kp.getPublic())).as("ours verifies the JDK's").isTrue();
      byte[] edited = msg.clone();
      edited[i % edited.length] ^= 1;
      assertThat(P256Ecdsa.verify(edited, theirs, kp.getPublic())).isFalse();
    }
  }

  @Test
  void refusesMalformedOrOutOfRangeSignatures() throws Exception {
    KeyFactory kf = KeyFactory.getInstance("EC");
    PublicKey pub = kf.generatePublic(new ECPublicKeySpec(new ECPoint(UX, UY), p256()));
    byte[] sample = "sample".getBytes(StandardCharsets.US_ASCII);
    byte[] good = der("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
        "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8");
    byte[] trailing = java.util.Arrays.copyOf(good, good.length + 1);
    assertThat(P256Ecdsa.verify(sample, trailing, pub)).as("trailing byte").isFalse();
    assertThat(P256Ecdsa.verify(sample, new byte[0], pub)).isFalse();
    assertThat(P256Ecdsa.verify(sample, der("0", "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"), pub)).isFalse();
    String n = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
    assertThat(P256Ecdsa.verify(sample, der("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716", n), pub))
        .as("s = n").isFalse();
    // r + n encodes the same residue: refused (out of range), not reduced
    String rPlusN = new BigInteger("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716", 16)
        .add(new BigInteger(n, 16)).toString(16);
    assertThat(P256Ecdsa.verify(sample, der(rPlusN, "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"), pub))
        .isFalse();
  }

  @Test
  void aPublicPointOffTheCurveVerifiesNothing() throws Exception {
    // SunEC builds the key without checking the point; the verifier must refuse it
    PublicKey off = KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(UX, UY.add(BigInteger.ONE)), p256()));
    byte[] sample = "sample".getBytes(StandardCharsets.US_ASCII);
    byte[] good = der("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
        "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8");
    assertThat(P256Ecdsa.verify(sample, good, off)).isFalse();
  }

  @Test
  void otherCurvesAreNotTakenForP256() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp384r1"));
    var kp = g.generateKeyPair();
    assertThat(P256Ecdsa.isP256(kp.getPublic())).isFalse();
    // P-384 keys keep the JCA path (SHA384withECDSA) and still round-trip
    byte[] msg = {1, 2, 3};
    byte[] sig = SpendSignatures.sign(msg, kp.getPrivate());
    Signature jdk = Signature.getInstance("SHA384withECDSA");
    jdk.initVerify(kp.getPublic());
    jdk.update(msg);
    assertThat(jdk.verify(sig)).isTrue();
  }
}

package org.cloister.trust.pki;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import org.junit.jupiter.api.Test;

/** BouncyCastle's verification accepts exactly what the JDK signs, and nothing altered or malformed. */
class EcdsaVerificationTest {
  @Test
  void jdkSignaturesVerifyAndAlteredOnesDoNot() throws Exception {
    SecureRandom random = new SecureRandom();
    for (String[] c : new String[][] {{"secp256r1", "SHA256withECDSA"}, {"secp384r1", "SHA384withECDSA"}}) {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec(c[0]), random);
      KeyPair k = g.generateKeyPair();
      KeyPair other = g.generateKeyPair();
      for (int i = 0; i < 20; i++) {
        byte[] msg = new byte[i * 37];
        random.nextBytes(msg);
        Signature s = Signature.getInstance(c[1]); // the JDK's, as every signer here
        s.initSign(k.getPrivate());
        s.update(msg);
        byte[] sig = s.sign();
        assertThat(EcdsaVerification.verify(k.getPublic(), sig, msg)).as(c[0] + " message " + i).isTrue();
        if (msg.length > 1) {
          // the message in parts is the same message
          byte[] a = java.util.Arrays.copyOf(msg, 1);
          byte[] b = java.util.Arrays.copyOfRange(msg, 1, msg.length);
          assertThat(EcdsaVerification.verify(k.getPublic(), sig, a, b)).as("in two parts").isTrue();
          byte[] m2 = msg.clone();
          m2[0] ^= 1;
          assertThat(EcdsaVerification.verify(k.getPublic(), sig, m2)).as("altered message").isFalse();
        }
        assertThat(EcdsaVerification.verify(other.getPublic(), sig, msg)).as("another key").isFalse();
        byte[] bent = sig.clone();
        bent[bent.length - 1] ^= 1;
        assertThat(EcdsaVerification.verify(k.getPublic(), bent, msg)).as("altered signature").isFalse();
        byte[] longer = java.util.Arrays.copyOf(sig, sig.length + 1);
        assertThat(EcdsaVerification.verify(k.getPublic(), longer, msg)).as("trailing byte").isFalse();
        assertThat(EcdsaVerification.verify(k.getPublic(), new byte[] {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00},
            msg)).as("r = s = 0").isFalse();
        assertThat(EcdsaVerification.verify(k.getPublic(), new byte[0], msg)).as("empty").isFalse();
      }
    }
  }

  @Test
  void otherKeysDoNotVerify() throws Exception {
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    KeyPair k = rsa.generateKeyPair();
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(k.getPrivate());
    s.update(new byte[] {1});
    assertThat(EcdsaVerification.verify(k.getPublic(), s.sign(), new byte[] {1})).isFalse();
  }
}

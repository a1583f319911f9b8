package org.cloister.trust.aead;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** Key wrapping ({@link AesGcm#wrapKey}): its format, checked with the JDK's cipher directly, and its refusals. */
class KeyWrapTest {
  private final SecureRandom random = new SecureRandom(new byte[] {3});
  private final byte[] kek = AesGcm.random(random, 32);
  private final byte[] key = AesGcm.random(random, 32);
  private final byte[] aad = {1, 2, 3};

  @Test
  void aWrappedKeyIsNonceThenAesGcmOfTheKeyAndUnwrapsOnlyWithTheSameKekAndAad() throws Exception {
    byte[] wrapped = AesGcm.wrapKey(kek, aad, key, random);
    assertThat(wrapped).hasSize(AesGcm.wrappedLength(32)).hasSize(12 + 32 + 16);
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(kek, "AES"), new GCMParameterSpec(128, wrapped, 0, 12));
    c.updateAAD(aad);
    assertThat(c.doFinal(wrapped, 12, wrapped.length - 12)).isEqualTo(key);
    assertThat(AesGcm.unwrapKey(kek, aad, wrapped)).isEqualTo(key);
    assertThat(AesGcm.wrapKey(kek, aad, key, random)).as("a fresh nonce each time").isNotEqualTo(wrapped);

    assertThatThrownBy(() -> AesGcm.unwrapKey(kek, new byte[] {9}, wrapped)).isInstanceOf(AEADBadTagException.class);
    assertThatThrownBy(() -> AesGcm.unwrapKey(AesGcm.random(random, 32), aad, wrapped))
        .isInstanceOf(AEADBadTagException.class);
    byte[] flipped = wrapped.clone();
    flipped[20] ^= 1;
    assertThatThrownBy(() -> AesGcm.unwrapKey(kek, aad, flipped)).isInstanceOf(AEADBadTagException.class);
    assertThatThrownBy(() -> AesGcm.unwrapKey(kek, aad, new byte[27])).isInstanceOf(AEADBadTagException.class)
        .hasMessageContaining("at least nonce (12) + tag (16)");
    assertThatThrownBy(() -> AesGcm.wrapKey(new byte[16], aad, key, random)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("32 bytes");
  }
}

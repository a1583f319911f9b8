package org.cloister.trust.hpke;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.cloister.trust.fuzz.Mutations;

/**
 * HPKE messages and stream segments come from sites (updates) and from the host (relayed): whatever
 * their bytes, opening them fails with an {@link HpkeException} (or, for a message shorter than
 * enc and tag, the documented {@link IllegalArgumentException}), never another exception.
 */
class HpkeFuzzTest {
  private static final byte[] INFO = "cloister fuzz".getBytes(StandardCharsets.UTF_8);
  private static final BouncyCastleHpke HPKE = new BouncyCastleHpke();
  private static final Hpke FAST = new Hpke();
  private static final HpkeKeyPair RECIPIENT = HPKE.deriveKeyPair(new byte[32]);
  private static final byte[] SEALED;
  private static final byte[] STREAM;

  static {
    try {
      byte[] plaintext = new byte[300];
      SEALED = FAST.seal(RECIPIENT.publicKey(), INFO, new byte[0], plaintext);
      STREAM = HPKE.sealStream(RECIPIENT.publicKey(), INFO, new byte[0], new byte[70_000]);
    } catch (HpkeException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void message(FuzzedDataProvider data) {
    boolean stream = data.consumeBoolean();
    byte[] msg = Mutations.from(data, stream ? STREAM : SEALED);
    try {
      if (stream) {
        HPKE.openStream(RECIPIENT, msg, INFO, new byte[0]);
      } else {
        FAST.open(RECIPIENT, msg, INFO, new byte[0]);
        HPKE.open(RECIPIENT, HpkeCiphertext.fromBytes(msg), INFO, new byte[0]);
      }
    } catch (HpkeException refused) {
      // expected: not authentic
    } catch (IllegalArgumentException tooShort) {
      if (msg.length >= BouncyCastleHpke.KEY_BYTES + BouncyCastleHpke.TAG_BYTES) {
        throw tooShort;
      }
    }
  }
}

package org.cloister.trust.attestation.nitro;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Base64;
import org.cloister.trust.attestation.SharedFixtures;

final class Fixtures {
  static final String PROD = "anjuna-sample-prod-doc.bin";
  static final String DEBUG = "ppmag-nitro-ad-debug.bin";
  static final String BLOCKY_B64 = "blocky-selfsigned-attestation.b64";

  static final String PROD_PCR0 =
      "2d151586641b790f3b1b92b8f89678c3aa86e73dd97969c892124be9d2b7fdc62b58a55cd9ee8216f6f5689cebf590ad";
  static final String PROD_PCR1 =
      "72d70b1f599a4af7213e2d243e4212a3643ebb4990b78b5218680f6fdec94185721c44e2b6858a452ca0523be521dbf6";
  static final String PROD_PCR2 =
      "495538508e34260a18288bdc448b99e8dd446910ebc7ff41e3f8491620a220c383dd291eaf0a5e14e018da3616265da9";
  static final String PROD_MODULE_ID = "i-078824548edcf6519-enc01784234ec227b58";

  private Fixtures() {}

  /**
   * A document of {@code ../shared/fixtures/nitro/} (real material from public repositories, never committed
   * to the project; attribution in its README). Skips the test when the shared fixtures are absent.
   */
  static byte[] bytes(String name) {
    try {
      return Files.readAllBytes(SharedFixtures.require().resolve("nitro").resolve(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] blocky() {
    return Base64.getMimeDecoder().decode(new String(bytes(BLOCKY_B64), StandardCharsets.US_ASCII).trim());
  }
}

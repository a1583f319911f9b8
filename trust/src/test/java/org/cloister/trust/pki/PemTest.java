package org.cloister.trust.pki;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * PEM from another party (a TDX quote's PCK chain, fetched collateral) that is damaged is refused
 * with an {@link IOException} naming its source. Found by {@code TdxEvidenceFuzzTest}: a quote
 * whose PCK chain had a non-base64 character escaped the verifier as BouncyCastle's unchecked
 * {@code DecoderException}.
 */
class PemTest {

  @Test
  void aCertificateBlockThatIsNotBase64IsAnIoErrorNamingTheSource() {
    byte[] pem = "-----BEGIN CERTIFICATE-----\nMIIB*#not base64!\n-----END CERTIFICATE-----\n".getBytes(StandardCharsets.US_ASCII);
    assertThatThrownBy(() -> Pem.parseCertificates(pem, "PCK chain"))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("PCK chain: ");
  }

  @Test
  void aTruncatedCertificateBlockIsAnIoError() {
    byte[] pem = "-----BEGIN CERTIFICATE-----\nMIIB\n".getBytes(StandardCharsets.US_ASCII);
    assertThatThrownBy(() -> Pem.parseCertificates(pem, "collateral/pck.pem"))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("collateral/pck.pem: ");
  }
}

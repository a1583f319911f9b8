package org.cloister.trust.pki;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/**
 * A certificate with its private key and the chain above it.
 *
 * @param certificate the issued certificate
 * @param privateKey its private key (never printed by {@link #toString()})
 * @param chain the issued certificate followed by its issuers up to and including the root
 */
public record IssuedCertificate(X509Certificate certificate, PrivateKey privateKey, List<X509Certificate> chain) {

  public IssuedCertificate {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(privateKey, "privateKey");
    chain = List.copyOf(chain);
    if (chain.isEmpty() || !chain.get(0).equals(certificate)) {
      throw new IllegalArgumentException("chain must start with the certificate itself");
    }
  }

  @Override
  public String toString() {
    return "IssuedCertificate[" + certificate.getSubjectX500Principal().getName() + ", notAfter="
        + certificate.getNotAfter().toInstant() + ", privateKey=<redacted>]";
  }
}

package org.cloister.simulations.spark;

import java.io.Serializable;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import org.cloister.trust.pki.IssuedCertificate;

/** A site's consortium certificate and key, issued by the driver, shipped to the executor that trains it once. */
record SiteKey(X509Certificate certificate, PrivateKey privateKey) implements Serializable {

  static SiteKey of(IssuedCertificate c) {
    return new SiteKey(c.certificate(), c.privateKey());
  }

  IssuedCertificate issued() {
    return new IssuedCertificate(certificate, privateKey, List.of(certificate));
  }

  @Override
  public String toString() {
    return "SiteKey[" + certificate.getSubjectX500Principal().getName() + ", privateKey=<redacted>]";
  }
}

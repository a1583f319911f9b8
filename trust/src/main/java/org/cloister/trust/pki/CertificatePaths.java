package org.cloister.trust.pki;

import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;

/** PKIX (RFC 5280) path validation at a fixed instant, without revocation checking. */
public final class CertificatePaths {
  private CertificatePaths() {}

  /**
   * Validates {@code path} (end-entity first, the certificate issued by {@code trustRoot} last; the
   * root itself not included) against {@code trustRoot} as it would be at {@code at}.
   *
   * @throws CertPathValidatorException when the path is invalid; {@link
   *     CertPathValidatorException#getReason()} and {@link CertPathValidatorException#getIndex()}
   *     say why and where
   */
  public static void validate(List<X509Certificate> path, X509Certificate trustRoot, Instant at)
      throws CertPathValidatorException {
    if (path.isEmpty()) {
      throw new IllegalArgumentException("certificate path is empty");
    }
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      CertPath certPath = factory.generateCertPath(path);
      PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(trustRoot, null)));
      params.setRevocationEnabled(false);
      params.setDate(Date.from(at));
      CertPathValidator.getInstance("PKIX").validate(certPath, params);
    } catch (CertPathValidatorException e) {
      throw e;
    } catch (InvalidAlgorithmParameterException e) {
      throw new IllegalArgumentException("invalid trust root: " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("PKIX validation unavailable: " + e.getMessage(), e);
    }
  }
}

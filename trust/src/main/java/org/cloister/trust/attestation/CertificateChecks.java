package org.cloister.trust.attestation;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERSequence;

/** Checks shared by the vendor-evidence verifiers; each failure is an {@link AttestationException} naming what. */
public final class CertificateChecks {
  private CertificateChecks() {}

  /** {@code cert} must be within its validity period at {@code at}. */
  public static void checkValidity(X509Certificate cert, Instant at, String what) throws AttestationException {
    try {
      cert.checkValidity(Date.from(at));
    } catch (CertificateExpiredException e) {
      throw new AttestationException(FailureReason.EXPIRED,
          what + " expired at " + cert.getNotAfter().toInstant() + " (verifying at " + at + ")");
    } catch (CertificateNotYetValidException e) {
      throw new AttestationException(FailureReason.NOT_YET_VALID,
          what + " is valid only from " + cert.getNotBefore().toInstant() + " (verifying at " + at + ")");
    }
  }

  /** {@code cert} must carry a signature by {@code issuerKey} (any algorithm the certificate names, RSA-PSS too). */
  public static void checkSignedBy(X509Certificate cert, PublicKey issuerKey, String what, String issuer)
      throws AttestationException {
    try {
      cert.verify(issuerKey);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new AttestationException(FailureReason.BAD_SIGNATURE, what + " is not signed by " + issuer, e);
    }
  }

  /** Whether {@code cert} is signed by {@code issuerKey}, without raising. */
  public static boolean isSignedBy(X509Certificate cert, PublicKey issuerKey) {
    try {
      cert.verify(issuerKey);
      return true;
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /**
   * {@code crl} must be signed by {@code issuer} and current at {@code at} (thisUpdate &lt;= at &lt;= nextUpdate).
   */
  public static void checkCrl(X509CRL crl, X509Certificate issuer, Instant at, String what)
      throws AttestationException {
    try {
      crl.verify(issuer.getPublicKey());
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new AttestationException(FailureReason.BAD_SIGNATURE, what + " is not signed by its issuer", e);
    }
    if (crl.getThisUpdate().toInstant().isAfter(at)) {
      throw new AttestationException(FailureReason.NOT_YET_VALID,
          what + " is issued only at " + crl.getThisUpdate().toInstant() + " (verifying at " + at + ")");
    }
    if (crl.getNextUpdate() == null || crl.getNextUpdate().toInstant().isBefore(at)) {
      throw new AttestationException(FailureReason.EXPIRED_COLLATERAL, what + " expired: next update was due "
          + (crl.getNextUpdate() == null ? "(none given)" : crl.getNextUpdate().toInstant()) + " (verifying at " + at
          + ")");
    }
  }

  /** DER SEQUENCE{r, s} from unsigned big-endian r and s. */
  public static byte[] derSignature(byte[] rBigEndian, byte[] sBigEndian) {
    ASN1EncodableVector v = new ASN1EncodableVector();
    v.add(new ASN1Integer(new BigInteger(1, rBigEndian)));
    v.add(new ASN1Integer(new BigInteger(1, sBigEndian)));
    try {
      return new DERSequence(v).getEncoded();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** DER signature from raw r||s of two equal halves (big-endian). */
  public static byte[] derSignatureFromRaw(byte[] raw) {
    int half = raw.length / 2;
    return derSignature(Arrays.copyOfRange(raw, 0, half), Arrays.copyOfRange(raw, half, raw.length));
  }

  /** Verifies an ECDSA signature (DER) with the JDK; false on any failure. */
  public static boolean verifyEcdsa(String algorithm, PublicKey key, byte[] data, byte[] derSignature) {
    try {
      Signature s = Signature.getInstance(algorithm);
      s.initVerify(key);
      s.update(data);
      return s.verify(derSignature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }
}

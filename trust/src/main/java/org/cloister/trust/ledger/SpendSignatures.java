package org.cloister.trust.ledger;

import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import org.cloister.trust.pki.CertificatePaths;

/**
 * Signatures over privacy-ledger entries: the party that spent privacy budget (a site, or the
 * enclave for central noise) signs the exact bytes of the entry with its certificate's key, so
 * that nobody else (least of all the coordinator that stores them) can alter or forge one.
 */
public final class SpendSignatures {
  private SpendSignatures() {
  }

  /** The JCA algorithm for an EC or RSA key: SHA-384 for P-384, SHA-256 otherwise. */
  public static String algorithmFor(java.security.Key key) {
    if ("EC".equals(key.getAlgorithm())) {
      int bits = key instanceof java.security.interfaces.ECKey ec ? ec.getParams().getOrder().bitLength() : 256;
      return bits > 256 ? "SHA384withECDSA" : "SHA256withECDSA";
    }
    return "SHA256withRSA";
  }

  /**
   * Signs {@code entry} with {@code key}: SHA256withECDSA for a P-256 key (computed by
   * {@link P256Ecdsa}, the same DER signature any ECDSA implementation verifies), the JCA
   * otherwise ({@link #algorithmFor}).
   */
  public static byte[] sign(byte[] entry, PrivateKey key) {
    if (P256Ecdsa.isP256(key)) {
      return P256Ecdsa.sign(entry, key);
    }
    try {
      Signature s = Signature.getInstance(algorithmFor(key));
      s.initSign(key);
      s.update(entry);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign ledger entry: " + e.getMessage(), e);
    }
  }

  /** True when {@code signature} over {@code entry} verifies with {@code signer}'s public key. */
  public static boolean verify(byte[] entry, byte[] signature, X509Certificate signer) {
    if (P256Ecdsa.isP256(signer.getPublicKey())) {
      return P256Ecdsa.verify(entry, signature, signer.getPublicKey());
    }
    try {
      Signature s = Signature.getInstance(algorithmFor(signer.getPublicKey()));
      s.initVerify(signer.getPublicKey());
      s.update(entry);
      return s.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /**
   * Verifies the signature and that the signer's certificate was issued by {@code trustRoot} and
   * valid at {@code signedAt}.
   *
   * @return null when valid, else the reason
   */
  public static String check(byte[] entry, byte[] signature, X509Certificate signer, X509Certificate trustRoot, Instant signedAt) {
    try {
      CertificatePaths.validate(List.of(signer), trustRoot, signedAt);
    } catch (Exception e) {
      return "signer certificate not valid under the consortium CA at " + signedAt + ": " + e.getMessage();
    }
    return verify(entry, signature, signer) ? null : "signature does not verify";
  }
}

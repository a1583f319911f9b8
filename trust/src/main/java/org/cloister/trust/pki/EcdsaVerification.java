package org.cloister.trust.pki;

import java.io.IOException;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;
import org.bouncycastle.math.ec.ECPoint;

/**
 * ECDSA verification (P-256 with SHA-256, P-384 with SHA-384; DER signatures) with BouncyCastle's
 * lightweight API and its optimised curve arithmetic ({@link CustomNamedCurves}), for the enclave's
 * signatures ({@code EnclaveSignatures}: each site verifies one round challenge per round, verifiers
 * check receipts). JDK 17's SunEC verifies a P-256 signature about three to four times slower
 * (`docs/benchmarks.md`, round section; spends and contribution statements are verified the same way
 * by {@code SpendSignatures}). Verification handles public values only
 * (message, signature, public key), so its timing leaks no secret; signing stays with the JDK.
 * Strict: the public key must be a point on the named curve, the signature canonical DER with r and s
 * in [1, n-1] (BouncyCastle's {@link StandardDSAEncoding} and {@link ECDSASigner}).
 */
public final class EcdsaVerification {
  private EcdsaVerification() {
  }

  /**
   * True when {@code signature} (DER) verifies under {@code key} (an EC P-256 or P-384 public key) over
   * the concatenation of {@code message}, hashed with SHA-256 for P-256 and SHA-384 for P-384 (the JCA's
   * {@code SHA256withECDSA} / {@code SHA384withECDSA}); false for anything malformed.
   */
  public static boolean verify(PublicKey key, byte[] signature, byte[]... message) {
    try {
      SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(key.getEncoded());
      if (!"1.2.840.10045.2.1".equals(spki.getAlgorithm().getAlgorithm().getId())) {
        return false; // not an EC key
      }
      ASN1ObjectIdentifier curveOid = ASN1ObjectIdentifier.getInstance(spki.getAlgorithm().getParameters());
      String digest;
      if ("1.2.840.10045.3.1.7".equals(curveOid.getId())) {
        digest = "SHA-256";
      } else if ("1.3.132.0.34".equals(curveOid.getId())) {
        digest = "SHA-384";
      } else {
        return false; // only the curves this project signs with
      }
      X9ECParameters curve = CustomNamedCurves.getByOID(curveOid);
      ECPoint q = curve.getCurve().decodePoint(spki.getPublicKeyData().getBytes()); // checks the point is on the curve
      ECDomainParameters domain = new ECDomainParameters(curve);
      BigInteger[] rs = StandardDSAEncoding.INSTANCE.decode(domain.getN(), signature);
      MessageDigest md = MessageDigest.getInstance(digest);
      for (byte[] part : message) {
        md.update(part);
      }
      ECDSASigner verifier = new ECDSASigner();
      verifier.init(false, new ECPublicKeyParameters(q, domain));
      return verifier.verifySignature(md.digest(), rs[0], rs[1]);
    } catch (IOException | NoSuchAlgorithmException | RuntimeException e) {
      return false; // a malformed key or signature is a signature that does not verify
    }
  }
}

package org.cloister.trust.ledger;

import java.math.BigInteger;
import java.security.Key;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECFieldFp;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;

/**
 * ECDSA over P-256 with SHA-256 ({@code SHA256withECDSA}, DER-encoded (r, s)), computed with
 * BouncyCastle's lightweight API on its dedicated P-256 field arithmetic instead of the JDK's
 * SunEC: the same signatures, verifiable by any ECDSA implementation (and the JDK's verifies ours,
 * ours the JDK's), about ten times faster on this machine (docs/benchmarks.md). Nonces are
 * deterministic (RFC 6979, HMAC-SHA-256), so no signature depends on a random source.
 * Verification is strict: a DER encoding that does not re-encode identically, r or s outside
 * [1, n-1] or a public point not on the curve is refused. Signers: ledger spends and contribution
 * statements ({@link SpendSignatures}) and the enclave's attested key ({@code EnclaveSignatures}).
 */
public final class P256Ecdsa {
  private static final X9ECParameters X9 = CustomNamedCurves.getByName("secp256r1");
  private static final ECDomainParameters DOMAIN = new ECDomainParameters(X9.getCurve(), X9.getG(), X9.getN(), X9.getH());

  private P256Ecdsa() {
  }

  /** Whether {@code key} is an EC key on P-256 (the curve, not only the order, is compared). */
  public static boolean isP256(Key key) {
    if (!(key instanceof ECKey ec) || !(key instanceof ECPrivateKey || key instanceof ECPublicKey)) {
      return false;
    }
    ECParameterSpec p = ec.getParams();
    if (p == null || !(p.getCurve().getField() instanceof ECFieldFp fp)) {
      return false;
    }
    ECPoint g = p.getGenerator();
    return fp.getP().equals(X9.getCurve().getField().getCharacteristic())
        && p.getCurve().getA().equals(X9.getCurve().getA().toBigInteger())
        && p.getCurve().getB().equals(X9.getCurve().getB().toBigInteger())
        && p.getOrder().equals(DOMAIN.getN()) && p.getCofactor() == 1
        && g.getAffineX().equals(DOMAIN.getG().getAffineXCoord().toBigInteger())
        && g.getAffineY().equals(DOMAIN.getG().getAffineYCoord().toBigInteger());
  }

  /** The DER signature of SHA-256({@code message}) with {@code key} (a P-256 {@link ECPrivateKey}). */
  public static byte[] sign(byte[] message, PrivateKey key) {
    BigInteger d = ((ECPrivateKey) key).getS();
    ECDSASigner signer = new ECDSASigner(new HMacDSAKCalculator(new SHA256Digest()));
    signer.init(true, new ECPrivateKeyParameters(d, DOMAIN));
    BigInteger[] rs = signer.generateSignature(sha256(message));
    try {
      return StandardDSAEncoding.INSTANCE.encode(DOMAIN.getN(), rs[0], rs[1]);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("cannot encode an ECDSA signature", e);
    }
  }

  /** True when {@code der} is a valid signature of {@code message} by {@code key} (a P-256 {@link ECPublicKey}). */
  static boolean verify(byte[] message, byte[] der, PublicKey key) {
    BigInteger[] rs;
    org.bouncycastle.math.ec.ECPoint q;
    try {
      rs = StandardDSAEncoding.INSTANCE.decode(DOMAIN.getN(), der);
      ECPoint w = ((ECPublicKey) key).getW();
      q = X9.getCurve().validatePoint(w.getAffineX(), w.getAffineY());
    } catch (java.io.IOException | RuntimeException e) { // malformed DER, r/s out of range, point off the curve
      return false;
    }
    ECDSASigner verifier = new ECDSASigner();
    verifier.init(false, new ECPublicKeyParameters(q, DOMAIN));
    return verifier.verifySignature(sha256(message), rs[0], rs[1]);
  }

  private static byte[] sha256(byte[] message) {
    SHA256Digest digest = new SHA256Digest();
    digest.update(message, 0, message.length);
    byte[] h = new byte[32];
    digest.doFinal(h, 0);
    return h;
  }
}

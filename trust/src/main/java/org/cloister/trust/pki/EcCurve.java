package org.cloister.trust.pki;

/** Elliptic curves the consortium PKI issues keys on, with the matching ECDSA signature algorithm. */
public enum EcCurve {
  P256("secp256r1", "SHA256withECDSA"),
  P384("secp384r1", "SHA384withECDSA");

  private final String jcaName;
  private final String signatureAlgorithm;

  EcCurve(String jcaName, String signatureAlgorithm) {
    this.jcaName = jcaName;
    this.signatureAlgorithm = signatureAlgorithm;
  }

  /** Standard JCA curve name, e.g. {@code secp384r1}. */
  public String jcaName() {
    return jcaName;
  }

  /** Signature algorithm a CA on this curve signs certificates with. */
  public String signatureAlgorithm() {
    return signatureAlgorithm;
  }
}

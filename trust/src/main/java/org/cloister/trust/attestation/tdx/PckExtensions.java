package org.cloister.trust.attestation.tdx;

import java.io.IOException;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.FailureReason;

/**
 * The Intel SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1): the 16 CPU SVN components and the
 * PCE SVN the PCK was certified at, the FMSPC and the PCE-ID.
 */
record PckExtensions(int[] cpuSvnComponents, int pceSvn, byte[] fmspc, byte[] pceId) {
  private static final String SGX = "1.2.840.113741.1.13.1";

  static PckExtensions of(X509Certificate pck) throws AttestationException {
    byte[] v = pck.getExtensionValue(SGX);
    if (v == null) {
      throw malformed("the PCK certificate has no SGX extension (" + SGX + ")");
    }
    try {
      ASN1Sequence seq = ASN1Sequence.getInstance(JcaX509ExtensionUtils.parseExtensionValue(v));
      int[] comps = null;
      Integer pceSvn = null;
      byte[] fmspc = null;
      byte[] pceId = null;
      for (ASN1Encodable e : seq) {
        ASN1Sequence entry = ASN1Sequence.getInstance(e);
        String oid = ASN1ObjectIdentifier.getInstance(entry.getObjectAt(0)).getId();
        ASN1Primitive value = entry.getObjectAt(1).toASN1Primitive();
        switch (oid) {
          case SGX + ".2" -> {
            comps = new int[16];
            for (ASN1Encodable t : ASN1Sequence.getInstance(value)) {
              ASN1Sequence te = ASN1Sequence.getInstance(t);
              String toid = ASN1ObjectIdentifier.getInstance(te.getObjectAt(0)).getId();
              String prefix = SGX + ".2.";
              int n = Integer.parseInt(toid.substring(prefix.length()));
              if (n >= 1 && n <= 16) {
                comps[n - 1] = ASN1Integer.getInstance(te.getObjectAt(1)).intValueExact();
              } else if (n == 17) {
                pceSvn = ASN1Integer.getInstance(te.getObjectAt(1)).intValueExact();
              }
            }
          }
          case SGX + ".3" -> pceId = ASN1OctetString.getInstance(value).getOctets();
          case SGX + ".4" -> fmspc = ASN1OctetString.getInstance(value).getOctets();
          default -> { }
        }
      }
      if (comps == null || pceSvn == null || fmspc == null || pceId == null) {
        throw malformed("the PCK certificate's SGX extension lacks the TCB, FMSPC or PCE-ID");
      }
      return new PckExtensions(comps, pceSvn, fmspc, pceId);
    } catch (IOException | RuntimeException e) {
      throw new AttestationException(FailureReason.MALFORMED, "the PCK certificate's SGX extension is malformed", e);
    }
  }

  private static AttestationException malformed(String m) {
    return new AttestationException(FailureReason.MALFORMED, m);
  }
}

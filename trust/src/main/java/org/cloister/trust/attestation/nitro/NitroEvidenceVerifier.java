package org.cloister.trust.attestation.nitro;

import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidencePolicy;
import org.cloister.trust.attestation.EvidenceVerifier;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.attestation.VerifiedEvidence;

/**
 * AWS Nitro Enclaves as one {@link EvidenceVerifier}: the document carries its whole chain, so collateral adds
 * nothing, except that a root certificate found in it must be the verifier's root. Measurements are named
 * {@code pcr0}..{@code pcr31}; {@code report_data} is the document's user data.
 */
public final class NitroEvidenceVerifier implements EvidenceVerifier {
  private static final Set<String> NAMES = IntStream.range(0, 32).mapToObj(i -> "pcr" + i)
      .collect(Collectors.toUnmodifiableSet());

  private final NitroAttestationVerifier verifier;

  public NitroEvidenceVerifier(NitroAttestationVerifier verifier) {
    this.verifier = verifier;
  }

  @Override
  public TeePlatform platform() {
    return TeePlatform.NITRO;
  }

  @Override
  public Set<String> expectableNames() {
    return NAMES;
  }

  /** The Nitro-specific result (module id, timestamp, ...) besides the neutral claims. */
  public VerifiedAttestation verifyNitro(byte[] evidence, Collateral collateral, EvidencePolicy policy)
      throws AttestationException {
    X509Certificate root = verifier.trustRoot();
    for (X509Certificate c : collateral.certificates()) {
      if (c.getSubjectX500Principal().equals(c.getIssuerX500Principal()) && !sameCertificate(c, root)) {
        throw new AttestationException(FailureReason.UNTRUSTED_ROOT,
            "root certificate in the collateral is not the verifier's Nitro root: " + c.getSubjectX500Principal());
      }
    }
    VerificationPolicy p = VerificationPolicy.at(policy.instant()).withDebugAllowed(policy.allowDebug());
    for (Map.Entry<String, byte[]> e : policy.expected().entrySet()) {
      if (!NAMES.contains(e.getKey())) {
        throw new IllegalArgumentException("'" + e.getKey() + "' is not a measurement of nitro evidence "
            + "(expected pcr0..pcr31)");
      }
      p = p.withExpectedPcr(Integer.parseInt(e.getKey().substring(3)), e.getValue());
    }
    return verifier.verify(evidence, p);
  }

  @Override
  public VerifiedEvidence verify(byte[] evidence, Collateral collateral, EvidencePolicy policy)
      throws AttestationException {
    return claims(verifyNitro(evidence, collateral, policy));
  }

  /** The neutral claims of a verified Nitro document. */
  public static VerifiedEvidence claims(VerifiedAttestation a) {
    Map<String, String> m = new LinkedHashMap<>();
    a.pcrs().forEach((i, v) -> m.put("pcr" + i, v));
    return new VerifiedEvidence(TeePlatform.NITRO, m, a.userData(), Optional.empty(), a.debug(),
        Optional.of(a.timestamp()), a.publicKey());
  }

  private static boolean sameCertificate(X509Certificate a, X509Certificate b) {
    try {
      return Arrays.equals(a.getEncoded(), b.getEncoded());
    } catch (java.security.cert.CertificateEncodingException e) {
      return false;
    }
  }
}

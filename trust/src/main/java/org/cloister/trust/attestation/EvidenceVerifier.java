package org.cloister.trust.attestation;

import java.util.Set;

/**
 * Verifies one platform's attestation evidence against its pinned vendor roots, offline, with the collateral
 * the caller supplies. Implementations are immutable and thread-safe.
 */
public interface EvidenceVerifier {

  TeePlatform platform();

  /** The names {@link EvidencePolicy#withExpected} may use for this platform. */
  Set<String> expectableNames();

  /**
   * Verifies {@code evidence}: format, signature, certificate chain to the pinned root, collateral, TCB,
   * debug flag, then every expected value of {@code policy}.
   *
   * @throws AttestationException with the precise reason when anything does not hold
   */
  VerifiedEvidence verify(byte[] evidence, Collateral collateral, EvidencePolicy policy) throws AttestationException;
}

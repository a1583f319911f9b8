package org.cloister.trust.attestation;

/**
 * Service-provider interface for the verifier side of an attestation platform, found by
 * {@link java.util.ServiceLoader} ({@code META-INF/services/org.cloister.trust.attestation.EvidenceVerifierProvider})
 * on the verifying party's own class path (its install is its own; the enclave's classpath is measured
 * instead, see {@code org.cloister.enclave.runtime.AttestationPlatformProvider}). {@link EvidenceVerifiers}
 * collects them fail closed: a provider can never stand in for a built-in platform's verifier.
 */
public interface EvidenceVerifierProvider {

  /** The platform whose evidence {@link #pinnedRoots()} verifies. */
  TeePlatform platform();

  /** A verifier anchored in the vendor roots pinned in this provider's own code (no configuration). */
  EvidenceVerifier pinnedRoots();
}

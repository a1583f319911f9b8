package org.cloister.trust.attestation;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;

/**
 * Service-provider interface for the verifier side of an attestation platform, found by
 * {@link java.util.ServiceLoader} ({@code META-INF/services/org.cloister.trust.attestation.EvidenceVerifierProvider})
 * on the verifying party's own class path (its install is its own; the enclave's classpath is measured
 * instead, see {@code org.cloister.enclave.runtime.AttestationPlatformProvider}). {@link EvidenceVerifiers}
 * collects them fail closed: a provider can never stand in for a built-in platform's verifier.
 *
 * <p>A provider of a new platform names it with {@link TeePlatform#named} and says what a party pins on it
 * ({@link #pinnableMeasurements()}, {@link #requiredMeasurements()}); without them its measurements cannot be
 * pinned, so no party can be configured to accept its evidence.
 */
public interface EvidenceVerifierProvider {

  /** The platform whose evidence {@link #pinnedRoots()} verifies. */
  TeePlatform platform();

  /** A verifier anchored in the vendor roots pinned in this provider's own code (no configuration). */
  EvidenceVerifier pinnedRoots();

  /** The measurement names a party may pin on this platform, in order, with their sizes in bytes. */
  default Map<String, Integer> pinnableMeasurements() {
    return Map.of();
  }

  /** The names among {@link #pinnableMeasurements()} a party must pin. */
  default List<String> requiredMeasurements() {
    return List.of();
  }

  /**
   * DEVELOPMENT ONLY: a verifier trusting {@code root}, a test double's vendor root, instead of the pinned one
   * (the caller prints a warning).
   *
   * @throws UnsupportedOperationException when the platform has no test double
   */
  default EvidenceVerifier developmentRoot(X509Certificate root) {
    throw new UnsupportedOperationException("the " + platform().id() + " verifier takes no development root");
  }
}

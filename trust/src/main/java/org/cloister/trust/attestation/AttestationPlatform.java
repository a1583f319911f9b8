package org.cloister.trust.attestation;

/**
 * Source of attestation documents for the code running inside a trusted execution environment.
 *
 * <p>Implementations: {@link org.cloister.trust.attestation.nitro.SimulatedNitroPlatform} for
 * development machines. A production implementation for AWS Nitro Enclaves would ask the Nitro
 * Secure Module for a document through the {@code /dev/nsm} device (the NSM API's
 * {@code Attestation} request carrying the same three optional fields); it needs native access
 * (JNI/JNA or a helper binary) and is deliberately not part of this module yet.
 */
public interface AttestationPlatform {

  /**
   * Produces a signed attestation document binding the given values.
   *
   * @param nonce freshness value chosen by the verifier, or {@code null}
   * @param userData application data to bind (for example a hash of a key policy), or {@code null}
   * @param publicKey a public key of the attested code (for example its HPKE key), or {@code null}
   * @return the document in the platform's native encoding
   * @throws IllegalArgumentException when a value breaks the platform's field limits
   */
  byte[] attestationDocument(byte[] nonce, byte[] userData, byte[] publicKey);
}

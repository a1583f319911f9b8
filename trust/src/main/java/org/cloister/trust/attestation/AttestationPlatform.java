package org.cloister.trust.attestation;

/**
 * Source of attestation documents for the code running inside a trusted execution environment.
 *
 * <p>Implementations: {@link org.cloister.trust.attestation.nitro.SimulatedNitroPlatform} for
 * development machines; in an AWS Nitro enclave, enclave-runtime's {@code NitroSecureModule} asks the Nitro
 * Secure Module through {@code /dev/nsm} (the NSM API's {@code Attestation} request carrying the same three
 * optional fields).
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

package org.cloister.trust.attestation;

/**
 * Verifies attestation evidence produced by one kind of trusted execution environment.
 *
 * <p>One implementation per evidence format: AWS Nitro Enclaves attestation documents today
 * ({@link org.cloister.trust.attestation.nitro.NitroAttestationVerifier}); AMD SEV-SNP reports or
 * Intel TDX quotes would be further implementations that map their own measurement registers onto
 * {@link VerifiedAttestation#pcrs()} and honour the same {@link VerificationPolicy}.
 *
 * <p>Implementations are immutable and thread-safe; the trust root is fixed at construction.
 */
public interface AttestationVerifier {

  /**
   * Verifies {@code evidence} against the trust root of this verifier and {@code policy}.
   *
   * @return the verified content of the document
   * @throws AttestationException with a precise {@link FailureReason} when anything does not hold
   */
  VerifiedAttestation verify(byte[] evidence, VerificationPolicy policy) throws AttestationException;
}

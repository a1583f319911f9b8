package org.cloister.trust.attestation;

/** Machine-readable reason an attestation document was refused. */
public enum FailureReason {
  /** A certificate of the chain (or the trust root) had expired at the verification instant. */
  EXPIRED,
  /** A certificate of the chain (or the trust root) was not yet valid at the verification instant. */
  NOT_YET_VALID,
  /** The document's signature, or a certificate signature inside the chain, does not verify. */
  BAD_SIGNATURE,
  /** The certificate chain does not lead to the configured trust root. */
  UNTRUSTED_ROOT,
  /** A measurement (PCR) differs from the value the policy expects, or is missing. */
  PCR_MISMATCH,
  /** The document comes from a debug-mode enclave and the policy does not allow debug enclaves. */
  DEBUG_ENCLAVE,
  /** The document's nonce is absent or differs from the nonce the verifier expects. */
  NONCE_MISMATCH,
  /** The evidence is not a well-formed document of the expected format, or breaks a field limit. */
  MALFORMED,
  /** The document binds no enclave signing key (see {@link EnclaveSignatures}), or a malformed one. */
  NO_SIGNING_KEY
}

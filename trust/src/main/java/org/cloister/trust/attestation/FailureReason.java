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
  /** A named measurement or the report data differs from the value the policy expects. */
  MEASUREMENT_MISMATCH,
  /** A certificate of the chain is listed in its issuer's revocation list. */
  REVOKED_CERTIFICATE,
  /** Collateral the verification needs (a certificate, TCB info, QE identity, a CRL) is absent or unusable. */
  MISSING_COLLATERAL,
  /** A collateral item (TCB info, QE identity, CRL) is past its next-update time at the verification instant. */
  EXPIRED_COLLATERAL,
  /** The platform's TCB matches no level of the vendor's TCB info (TDX). */
  NO_MATCHING_TCB_LEVEL,
  /** The platform's TCB is revoked by the vendor (TDX status Revoked). */
  TCB_REVOKED,
  /** The platform's TCB status is not one the policy accepts (TDX: not UpToDate without --accept-tcb out-of-date). */
  TCB_NOT_ACCEPTED,
  /** The TCB the evidence reports differs from the TCB its signing key was certified for (SEV-SNP VCEK). */
  TCB_MISMATCH,
  /** The guest or TD configuration breaks the policy (SEV-SNP migration agent or VMPL, TDX module identity). */
  POLICY_VIOLATION,
  /** The document binds no enclave signing key (see {@link EnclaveSignatures}), or a malformed one. */
  NO_SIGNING_KEY
}

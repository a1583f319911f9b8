package org.cloister.trust.attestation.tdx;

import org.cloister.trust.attestation.AttestationException;

/**
 * Fields of a TDX quote read without verification, for an enclave checking its own fresh quote
 * ({@code LaunchConfiguration}). Verification is {@link TdxVerifier}'s, on the verifying side: it stays out of the
 * enclave images.
 */
public final class TdxEvidence {
  private TdxEvidence() {
  }

  /** The {@code mr_config_id} of {@code quote}. */
  public static byte[] mrConfigId(byte[] quote) throws AttestationException {
    return TdxQuote.parse(quote).mrConfigId();
  }
}

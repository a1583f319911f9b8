package org.cloister.trust.attestation.snp;

import org.cloister.trust.attestation.AttestationException;

/**
 * Fields of an SEV-SNP attestation report read without verification, for an enclave checking its own fresh report
 * ({@code LaunchConfiguration}). Verification is {@link SnpVerifier}'s, on the verifying side: it stays out of the
 * enclave images.
 */
public final class SnpEvidence {
  private SnpEvidence() {
  }

  /** The {@code host_data} of {@code report}. */
  public static byte[] hostData(byte[] report) throws AttestationException {
    return SnpReport.parse(report).hostData();
  }
}

package org.cloister.trust.attestation.snp;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.time.Instant;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.EvidencePolicy;
import org.cloister.trust.fuzz.Mutations;

/**
 * SEV-SNP reports come from the host: the report parser, the VCEK path derivation and the whole
 * verifier (with the simulated AMD chain as collateral) refuse any damaged report with an
 * {@link AttestationException} and nothing else.
 */
class SnpEvidenceFuzzTest {
  private static final SimulatedSnpPlatform AMD;
  private static final byte[] VALID;

  static {
    try {
      AMD = new SimulatedSnpPlatform(7);
      VALID = AMD.report(new byte[64], new byte[48], SimulatedSnpPlatform.POLICY);
    } catch (java.security.GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void report(FuzzedDataProvider data) {
    byte[] report = Mutations.from(data, VALID);
    try {
      SnpReport.parse(report);
    } catch (AttestationException refused) {
      // expected for a damaged report
    }
    try {
      SnpVerifier.vcekKdsPath(report, null);
    } catch (AttestationException refused) {
      // expected
    }
    try {
      org.cloister.trust.attestation.snp.SnpVerifier.development(AMD.ark()).verify(report, org.cloister.trust.attestation.Collateral.ofCertificates(AMD.chain()), EvidencePolicy.at(Instant.now()));
    } catch (AttestationException refused) {
      // expected
    }
  }
}

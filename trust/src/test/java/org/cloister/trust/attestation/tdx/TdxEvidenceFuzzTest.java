package org.cloister.trust.attestation.tdx;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidencePolicy;
import org.cloister.trust.attestation.SharedFixtures;
import org.cloister.trust.fuzz.Mutations;

/**
 * TDX quotes come from the host: the quote parser, the PCS request derivation and the verifier
 * refuse any damaged quote with an {@link AttestationException} and nothing else. Mutated from a
 * real quote of the shared fixtures when they are present, otherwise from a bare v4 header.
 */
class TdxEvidenceFuzzTest {
  private static final byte[] VALID;
  private static final Collateral COLLATERAL;
  private static final Instant AT;

  static {
    List<Path> cases = SharedFixtures.cases("tdx").stream()
        .filter(d -> "accept".equals(SharedFixtures.caseJson(d).get("expect").asText())).toList();
    if (cases.isEmpty()) {
      byte[] header = new byte[632];
      header[0] = 4;
      header[2] = 2;
      header[4] = (byte) 0x81;
      VALID = header;
      COLLATERAL = null;
      AT = Instant.parse("2026-01-01T00:00:00Z");
    } else {
      VALID = SharedFixtures.evidence(cases.get(0));
      COLLATERAL = SharedFixtures.collateral(cases.get(0));
      AT = Instant.ofEpochSecond(SharedFixtures.caseJson(cases.get(0)).get("verify_at").asLong());
    }
  }

  private final TdxVerifier verifier = new TdxVerifier();

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void quote(FuzzedDataProvider data) {
    byte[] quote = Mutations.from(data, VALID);
    try {
      TdxQuote.parse(quote);
    } catch (AttestationException refused) {
      // expected for a damaged quote
    }
    try {
      TdxVerifier.pcsRequest(quote);
    } catch (AttestationException refused) {
      // expected
    }
    if (COLLATERAL != null) {
      try {
        verifier.verify(quote, COLLATERAL, EvidencePolicy.at(AT));
      } catch (AttestationException refused) {
        // expected
      }
    }
  }
}

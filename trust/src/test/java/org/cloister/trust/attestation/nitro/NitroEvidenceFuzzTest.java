package org.cloister.trust.attestation.nitro;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.fuzz.Mutations;

/**
 * Nitro attestation documents come from the host that runs the enclave: whatever their bytes, the
 * verifier either accepts or refuses with an {@link AttestationException}, never another exception,
 * a hang or an unbounded allocation.
 */
class NitroEvidenceFuzzTest {
  private static final Instant AT = Instant.parse("2026-06-01T00:00:00Z");
  private static final DevelopmentAttestationAuthority AUTHORITY =
      DevelopmentAttestationAuthority.generate(Clock.fixed(AT, ZoneOffset.UTC), new SecureRandom());
  private static final byte[] VALID = new SimulatedNitroPlatform(AUTHORITY, "fuzz-enclave",
      Map.of(0, SimulatedPcrs.measure("jar".getBytes(StandardCharsets.UTF_8)),
          1, SimulatedPcrs.measure("config".getBytes(StandardCharsets.UTF_8)),
          2, SimulatedPcrs.measure("policy".getBytes(StandardCharsets.UTF_8))))
      .attestationDocument(new byte[16], "user".getBytes(StandardCharsets.UTF_8), new byte[32]);
  private static final NitroAttestationVerifier VERIFIER = new NitroAttestationVerifier(AUTHORITY.rootCertificate());

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void attestationDocument(FuzzedDataProvider data) {
    byte[] doc = Mutations.from(data, VALID);
    try {
      VERIFIER.verify(doc, VerificationPolicy.at(AT));
    } catch (AttestationException refused) {
      // the expected outcome for a damaged document
    }
  }
}

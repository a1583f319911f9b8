package org.cloister.trust.attestation;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Checks a policy's expected values against verified claims; shared by the evidence verifiers. */
public final class ExpectedValues {
  private ExpectedValues() {}

  /**
   * Every expected name must be one of {@code known} and equal the claim (constant-time comparison).
   *
   * @throws IllegalArgumentException for a name the platform does not have (a usage error, not a refusal)
   * @throws AttestationException {@link FailureReason#MEASUREMENT_MISMATCH} naming the register and both values
   */
  public static void check(EvidencePolicy policy, Set<String> known, Map<String, String> measurements,
      Optional<byte[]> reportData, TeePlatform platform) throws AttestationException {
    HexFormat hex = HexFormat.of();
    for (Map.Entry<String, byte[]> e : policy.expected().entrySet()) {
      String name = e.getKey();
      if (!known.contains(name)) {
        throw new IllegalArgumentException("'" + name + "' is not a measurement of " + platform.id()
            + " evidence (expected one of " + String.join(", ", known) + ")");
      }
      byte[] actual = "report_data".equals(name) ? reportData.orElse(null)
          : Optional.ofNullable(measurements.get(name)).map(hex::parseHex).orElse(null);
      if (actual == null) {
        throw new AttestationException(FailureReason.MEASUREMENT_MISMATCH, name + " is absent from the evidence");
      }
      if (!MessageDigest.isEqual(actual, e.getValue())) {
        throw new AttestationException(FailureReason.MEASUREMENT_MISMATCH,
            name + " is " + hex.formatHex(actual) + ", expected " + hex.formatHex(e.getValue()));
      }
    }
  }
}

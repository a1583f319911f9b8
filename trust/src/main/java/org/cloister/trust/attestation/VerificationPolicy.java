package org.cloister.trust.attestation;

import java.time.Instant;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What a verifier requires of a document beyond a valid signature and chain: the instant at which
 * certificate validity is judged, expected measurement values, whether debug enclaves are acceptable
 * and the expected nonce. Immutable; build it with {@link #at(Instant)} and the {@code with...}
 * methods.
 */
public final class VerificationPolicy {
  private final Instant instant;
  private final Map<Integer, byte[]> expectedPcrs;
  private final boolean allowDebug;
  private final byte[] expectedNonce;

  private VerificationPolicy(Instant instant, Map<Integer, byte[]> expectedPcrs, boolean allowDebug,
      byte[] expectedNonce) {
    this.instant = Objects.requireNonNull(instant, "instant");
    this.expectedPcrs = expectedPcrs;
    this.allowDebug = allowDebug;
    this.expectedNonce = expectedNonce;
  }

  /** A policy judging certificate validity at {@code instant}, expecting nothing else. */
  public static VerificationPolicy at(Instant instant) {
    return new VerificationPolicy(instant, Map.of(), false, null);
  }

  /** Requires PCR {@code index} to equal {@code value} exactly. */
  public VerificationPolicy withExpectedPcr(int index, byte[] value) {
    if (index < 0 || index > 31) {
      throw new IllegalArgumentException("PCR index must be 0..31, got " + index);
    }
    Objects.requireNonNull(value, "value");
    if (value.length != 32 && value.length != 48 && value.length != 64) {
      throw new IllegalArgumentException(
          "PCR" + index + " value must be 32, 48 or 64 bytes, got " + value.length);
    }
    TreeMap<Integer, byte[]> copy = new TreeMap<>(expectedPcrs);
    copy.put(index, value.clone());
    return new VerificationPolicy(instant, Collections.unmodifiableMap(copy), allowDebug, expectedNonce);
  }

  /** Same as {@link #withExpectedPcr(int, byte[])} with a hexadecimal value. */
  public VerificationPolicy withExpectedPcr(int index, String hex) {
    byte[] value;
    try {
      value = HexFormat.of().parseHex(hex.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("PCR" + index + " value is not hexadecimal: " + e.getMessage(), e);
    }
    return withExpectedPcr(index, value);
  }

  /** Accepts documents from debug-mode enclaves (all of PCR0..PCR2 zero). Never in production. */
  public VerificationPolicy withDebugAllowed(boolean allow) {
    return new VerificationPolicy(instant, expectedPcrs, allow, expectedNonce);
  }

  /** Requires the document's nonce to equal {@code nonce}. */
  public VerificationPolicy withExpectedNonce(byte[] nonce) {
    Objects.requireNonNull(nonce, "nonce");
    if (nonce.length == 0) {
      throw new IllegalArgumentException("expected nonce must not be empty");
    }
    return new VerificationPolicy(instant, expectedPcrs, allowDebug, nonce.clone());
  }

  public Instant instant() {
    return instant;
  }

  /** Expected PCR values by index (copies). */
  public Map<Integer, byte[]> expectedPcrs() {
    TreeMap<Integer, byte[]> copy = new TreeMap<>();
    expectedPcrs.forEach((k, v) -> copy.put(k, v.clone()));
    return copy;
  }

  public boolean allowDebug() {
    return allowDebug;
  }

  public Optional<byte[]> expectedNonce() {
    return Optional.ofNullable(expectedNonce).map(byte[]::clone);
  }

  @Override
  public String toString() {
    return "VerificationPolicy[at=" + instant + ", expectedPcrs=" + expectedPcrs.keySet()
        + ", allowDebug=" + allowDebug + ", nonce=" + (expectedNonce != null) + "]";
  }
}

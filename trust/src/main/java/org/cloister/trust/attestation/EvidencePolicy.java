package org.cloister.trust.attestation;

import java.time.Instant;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a platform-neutral verifier requires beyond authentic evidence: the instant at which certificates and
 * collateral are judged, whether debug guests are acceptable, whether a TCB the vendor rates other than
 * UpToDate is tolerated (never Revoked, never an unmatched TCB), and expected values of named measurements or
 * of {@code report_data}. Strict by default; immutable.
 */
public final class EvidencePolicy {
  private final Instant instant;
  private final boolean allowDebug;
  private final boolean acceptOutOfDate;
  private final Map<String, byte[]> expected;

  private EvidencePolicy(Instant instant, boolean allowDebug, boolean acceptOutOfDate, Map<String, byte[]> expected) {
    this.instant = Objects.requireNonNull(instant, "instant");
    this.allowDebug = allowDebug;
    this.acceptOutOfDate = acceptOutOfDate;
    this.expected = expected;
  }

  /** Judges validity at {@code instant}; no debug guests, UpToDate TCB only, no expected values. */
  public static EvidencePolicy at(Instant instant) {
    return new EvidencePolicy(instant, false, false, Map.of());
  }

  public EvidencePolicy withDebugAllowed(boolean allow) {
    return new EvidencePolicy(instant, allow, acceptOutOfDate, expected);
  }

  /** Tolerates a TCB status other than UpToDate (still never Revoked, never "no matching TCB level"). */
  public EvidencePolicy withOutOfDateTcbAccepted(boolean accept) {
    return new EvidencePolicy(instant, allowDebug, accept, expected);
  }

  /** Requires the measurement (or {@code report_data}) called {@code name} to equal {@code value}. */
  public EvidencePolicy withExpected(String name, byte[] value) {
    Objects.requireNonNull(name, "name");
    if (value == null || value.length == 0) {
      throw new IllegalArgumentException("expected value of " + name + " must not be empty");
    }
    LinkedHashMap<String, byte[]> copy = new LinkedHashMap<>(expected);
    copy.put(name, value.clone());
    return new EvidencePolicy(instant, allowDebug, acceptOutOfDate, Collections.unmodifiableMap(copy));
  }

  /** Same as {@link #withExpected(String, byte[])} with hexadecimal text. */
  public EvidencePolicy withExpected(String name, String hex) {
    try {
      return withExpected(name, HexFormat.of().parseHex(hex.trim()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(name + ": not hexadecimal: " + e.getMessage(), e);
    }
  }

  public Instant instant() {
    return instant;
  }

  public boolean allowDebug() {
    return allowDebug;
  }

  public boolean acceptOutOfDate() {
    return acceptOutOfDate;
  }

  /** Expected values by name, in insertion order (copies). */
  public Map<String, byte[]> expected() {
    LinkedHashMap<String, byte[]> copy = new LinkedHashMap<>();
    expected.forEach((k, v) -> copy.put(k, v.clone()));
    return copy;
  }

  @Override
  public String toString() {
    return "EvidencePolicy[at=" + instant + ", allowDebug=" + allowDebug + ", acceptOutOfDate=" + acceptOutOfDate
        + ", expected=" + expected.keySet() + "]";
  }
}

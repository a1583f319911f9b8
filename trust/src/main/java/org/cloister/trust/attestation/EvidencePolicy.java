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
  private final TcbFloor floor;

  /**
   * Platform minimums beyond the vendor's rating (none by default): the highest SEV-SNP VMPL the report may come
   * from (0 is the most privileged level: above it an SVSM or paravisor at a lower level can read the guest), the
   * lowest SEV-SNP TCB security version per component ({@code bootloader}, {@code tee}, {@code snp},
   * {@code microcode}, {@code fmc} on Turin) of the TCB the report's signing key is certified for, and the
   * lowest Intel {@code tcbEvaluationDataNumber} of the TCB info and QE identity a TDX quote is judged with.
   *
   * @param maxVmpl                      -1: any
   * @param minSnpTcb                    component name to minimum SVN (may be empty)
   * @param minTcbEvaluationDataNumber   -1: any
   */
  public record TcbFloor(int maxVmpl, Map<String, Integer> minSnpTcb, int minTcbEvaluationDataNumber) {
    /** The SEV-SNP TCB components, in the report's order. */
    public static final java.util.List<String> SNP_COMPONENTS = java.util.List.of("bootloader", "tee", "snp",
        "microcode", "fmc");
    public static final TcbFloor NONE = new TcbFloor(-1, Map.of(), -1);

    public TcbFloor {
      if (maxVmpl < -1 || maxVmpl > 3) {
        throw new IllegalArgumentException("max_vmpl must be 0..3, got " + maxVmpl);
      }
      for (Map.Entry<String, Integer> e : minSnpTcb.entrySet()) {
        if (!SNP_COMPONENTS.contains(e.getKey())) {
          throw new IllegalArgumentException("SEV-SNP TCB has no component '" + e.getKey() + "' (components: "
              + SNP_COMPONENTS + ")");
        }
        if (e.getValue() == null || e.getValue() < 0 || e.getValue() > 255) {
          throw new IllegalArgumentException("minimum SEV-SNP " + e.getKey() + " SVN must be 0..255, got " + e.getValue());
        }
      }
      minSnpTcb = Collections.unmodifiableMap(new LinkedHashMap<>(minSnpTcb));
      if (minTcbEvaluationDataNumber < -1) {
        throw new IllegalArgumentException("minimum tcbEvaluationDataNumber must not be negative");
      }
    }
  }

  private EvidencePolicy(Instant instant, boolean allowDebug, boolean acceptOutOfDate, Map<String, byte[]> expected,
                         TcbFloor floor) {
    this.instant = Objects.requireNonNull(instant, "instant");
    this.allowDebug = allowDebug;
    this.acceptOutOfDate = acceptOutOfDate;
    this.expected = expected;
    this.floor = Objects.requireNonNull(floor, "floor");
  }

  /** Judges validity at {@code instant}; no debug guests, UpToDate TCB only, no expected values. */
  public static EvidencePolicy at(Instant instant) {
    return new EvidencePolicy(instant, false, false, Map.of(), TcbFloor.NONE);
  }

  public EvidencePolicy withDebugAllowed(boolean allow) {
    return new EvidencePolicy(instant, allow, acceptOutOfDate, expected, floor);
  }

  /** Tolerates a TCB status other than UpToDate (still never Revoked, never "no matching TCB level"). */
  public EvidencePolicy withOutOfDateTcbAccepted(boolean accept) {
    return new EvidencePolicy(instant, allowDebug, accept, expected, floor);
  }

  /** Requires the platform minimums of {@code floor}. */
  public EvidencePolicy withTcbFloor(TcbFloor floor) {
    return new EvidencePolicy(instant, allowDebug, acceptOutOfDate, expected, floor);
  }

  public TcbFloor tcbFloor() {
    return floor;
  }

  /** Requires the measurement (or {@code report_data}) called {@code name} to equal {@code value}. */
  public EvidencePolicy withExpected(String name, byte[] value) {
    Objects.requireNonNull(name, "name");
    if (value == null || value.length == 0) {
      throw new IllegalArgumentException("expected value of " + name + " must not be empty");
    }
    LinkedHashMap<String, byte[]> copy = new LinkedHashMap<>(expected);
    copy.put(name, value.clone());
    return new EvidencePolicy(instant, allowDebug, acceptOutOfDate, Collections.unmodifiableMap(copy), floor);
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

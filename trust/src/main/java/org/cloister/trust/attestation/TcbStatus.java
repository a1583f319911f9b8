package org.cloister.trust.attestation;

import java.util.List;
import java.util.Objects;

/**
 * The vendor's rating of the platform's trusted computing base, in Intel's words ({@code UpToDate},
 * {@code SWHardeningNeeded}, {@code ConfigurationNeeded}, {@code ConfigurationAndSWHardeningNeeded},
 * {@code OutOfDate}, {@code OutOfDateConfigurationNeeded}, {@code Revoked}), with the security advisories
 * that apply to it.
 */
public record TcbStatus(String status, List<String> advisoryIds) {
  public static final String UP_TO_DATE = "UpToDate";
  public static final String REVOKED = "Revoked";

  private static final List<String> ORDER = List.of("UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
      "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked");

  public TcbStatus {
    Objects.requireNonNull(status, "status");
    if (!ORDER.contains(status)) {
      throw new IllegalArgumentException("unknown TCB status '" + status + "'");
    }
    advisoryIds = List.copyOf(advisoryIds);
  }

  public boolean upToDate() {
    return UP_TO_DATE.equals(status);
  }

  /**
   * Combines two ratings of parts of one platform (the TCB level, the quoting enclave, the TDX module): the
   * result is at least as bad as each; an out-of-date part with a configuration need gives
   * OutOfDateConfigurationNeeded; advisories are united.
   */
  public TcbStatus merge(TcbStatus other) {
    String worse = ORDER.indexOf(other.status) > ORDER.indexOf(status) ? other.status : status;
    boolean outOfDate = status.startsWith("OutOfDate") || other.status.startsWith("OutOfDate");
    boolean configuration = status.contains("Configuration") || other.status.contains("Configuration");
    if (!REVOKED.equals(worse) && outOfDate && configuration) {
      worse = "OutOfDateConfigurationNeeded";
    }
    java.util.LinkedHashSet<String> ids = new java.util.LinkedHashSet<>(advisoryIds);
    ids.addAll(other.advisoryIds);
    return new TcbStatus(worse, List.copyOf(ids));
  }
}

package org.cloister.aggregation;

/** An update that fails validation; the reason is safe to show to the site (it carries no values). */
public class UpdateRejectedException extends RuntimeException {
  private final RejectReason reason;

  public UpdateRejectedException(RejectReason reason, String detail) {
    super(reason.name().toLowerCase(java.util.Locale.ROOT) + ": " + detail);
    this.reason = reason;
  }

  public RejectReason reason() {
    return reason;
  }
}

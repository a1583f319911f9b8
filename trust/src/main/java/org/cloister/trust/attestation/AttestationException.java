package org.cloister.trust.attestation;

import java.util.Objects;

/** An attestation document was refused; {@link #reason()} says why in machine-readable form. */
public final class AttestationException extends Exception {
  private static final long serialVersionUID = 1L;

  private final FailureReason reason;

  public AttestationException(FailureReason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public AttestationException(FailureReason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public FailureReason reason() {
    return reason;
  }

  @Override
  public String toString() {
    return "AttestationException[" + reason + "]: " + getMessage();
  }
}

package org.cloister.coordinator.rounds;

/**
 * A request the coordinator refuses, with the gRPC status it maps to and a reason that names what
 * is wrong (and never carries payload values).
 */
public class RequestRejectedException extends RuntimeException {
  public enum Kind { NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNAUTHENTICATED }

  private final Kind kind;
  private final String metricReason;

  public RequestRejectedException(Kind kind, String metricReason, String message) {
    super(message);
    this.kind = kind;
    this.metricReason = metricReason;
  }

  public Kind kind() {
    return kind;
  }

  /** A short fixed label for metrics (e.g. {@code replayed}, {@code wrong_round}). */
  public String metricReason() {
    return metricReason;
  }
}

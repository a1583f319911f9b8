package org.cloister.dp.accounting;

import org.cloister.dp.events.DpEvent;

/**
 * Interprets {@link DpEvent}s into (epsilon, delta) guarantees. An accountant accumulates the
 * events composed into it; {@link #copy()} gives an independent accountant with the same history
 * (used to project "what if this step is also taken").
 */
public interface PrivacyAccountant {

  /** Whether this accountant can interpret {@code event}. */
  boolean supports(DpEvent event);

  /**
   * Composes {@code event}, {@code count} times, into the accumulated history.
   *
   * @throws UnsupportedEventException naming the event when it cannot be interpreted
   */
  PrivacyAccountant compose(DpEvent event, long count);

  default PrivacyAccountant compose(DpEvent event) {
    return compose(event, 1);
  }

  /** The smallest epsilon such that the history is (epsilon, delta)-DP. */
  double epsilon(double delta);

  /** The smallest delta such that the history is (epsilon, delta)-DP. */
  double delta(double epsilon);

  /** An independent accountant with the same history. */
  PrivacyAccountant copy();
}

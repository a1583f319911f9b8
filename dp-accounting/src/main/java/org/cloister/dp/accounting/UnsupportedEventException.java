package org.cloister.dp.accounting;

import org.cloister.dp.events.DpEvent;

/** An event that an accountant cannot interpret. */
public class UnsupportedEventException extends IllegalArgumentException {
  public UnsupportedEventException(String accountant, DpEvent event) {
    super(accountant + " accountant cannot interpret " + event);
  }

  /** With the reason the event cannot be interpreted (for example the adjacency it needs). */
  public UnsupportedEventException(String accountant, DpEvent event, String reason) {
    super(accountant + " accountant cannot interpret " + event + ": " + reason);
  }
}

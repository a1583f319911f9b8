package org.cloister.dp.accounting;

import org.cloister.dp.events.DpEvent;

/** An event that an accountant cannot interpret. */
public class UnsupportedEventException extends IllegalArgumentException {
  public UnsupportedEventException(String accountant, DpEvent event) {
    super(accountant + " accountant cannot interpret " + event);
  }
}

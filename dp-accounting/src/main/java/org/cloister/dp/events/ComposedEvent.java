package org.cloister.dp.events;

import java.util.List;

/** Sequential composition of several events. */
public record ComposedEvent(List<DpEvent> events) implements DpEvent {
  public ComposedEvent {
    events = List.copyOf(events);
  }
}

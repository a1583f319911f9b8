package org.cloister.dp.events;

/** {@code event} composed with itself {@code count} times. */
public record SelfComposedEvent(DpEvent event, long count) implements DpEvent {
  public SelfComposedEvent {
    if (count < 0) {
      throw new IllegalArgumentException("count must be >= 0, got " + count);
    }
    java.util.Objects.requireNonNull(event, "event");
  }
}

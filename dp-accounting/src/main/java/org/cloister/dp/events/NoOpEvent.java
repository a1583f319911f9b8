package org.cloister.dp.events;

/** A step that touches no private data. */
public record NoOpEvent() implements DpEvent {
}

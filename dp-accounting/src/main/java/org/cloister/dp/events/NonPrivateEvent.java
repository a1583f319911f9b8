package org.cloister.dp.events;

/** A release with no privacy guarantee: every accountant reports infinite epsilon after it. */
public record NonPrivateEvent() implements DpEvent {
}

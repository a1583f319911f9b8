package org.cloister.dp.events;

/** The Laplace mechanism with sensitivity 1 and scale {@code scale}. */
public record LaplaceEvent(double scale) implements DpEvent {
  public LaplaceEvent {
    if (!(scale >= 0)) {
      throw new IllegalArgumentException("laplace scale must be >= 0, got " + scale);
    }
  }
}

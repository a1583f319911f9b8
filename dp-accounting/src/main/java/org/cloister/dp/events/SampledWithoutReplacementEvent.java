package org.cloister.dp.events;

/** {@code event} applied to a uniformly random subset of {@code sampleSize} of {@code sourceSize} records. */
public record SampledWithoutReplacementEvent(long sourceSize, long sampleSize, DpEvent event) implements DpEvent {
  public SampledWithoutReplacementEvent {
    if (sourceSize < 1 || sampleSize < 0 || sampleSize > sourceSize) {
      throw new IllegalArgumentException("need 0 <= sampleSize <= sourceSize, sourceSize >= 1; got " + sampleSize + " of " + sourceSize);
    }
    java.util.Objects.requireNonNull(event, "event");
  }
}

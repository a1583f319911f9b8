package org.cloister.dp.events;

/** {@code event} applied to a Poisson sample: each record is included independently with probability q. */
public record PoissonSampledEvent(double samplingProbability, DpEvent event) implements DpEvent {
  public PoissonSampledEvent {
    if (!(samplingProbability >= 0 && samplingProbability <= 1)) {
      throw new IllegalArgumentException("sampling probability must be in [0,1], got " + samplingProbability);
    }
    java.util.Objects.requireNonNull(event, "event");
  }
}

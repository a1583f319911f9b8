package org.cloister.dp.events;

/** The Gaussian mechanism with sensitivity 1 and noise standard deviation {@code noiseMultiplier}. */
public record GaussianEvent(double noiseMultiplier) implements DpEvent {
  public GaussianEvent {
    if (!(noiseMultiplier >= 0) || Double.isNaN(noiseMultiplier)) {
      throw new IllegalArgumentException("noise multiplier must be >= 0, got " + noiseMultiplier);
    }
  }
}

package org.cloister.simulations.audit;

/**
 * What an audit runs and what the accountant is told.
 *
 * @param model logreg or mlp
 * @param canaries m
 * @param noiseMultiplier S, what the trainer really uses
 * @param assumedNoiseMultiplier S', what the accountant is told (equal to S for a real audit;
 *     different only to test the auditor)
 * @param clipNorm C
 * @param samplingRate q
 * @param steps T
 * @param delta the delta of the accountant's bound and of the audit's hypothesis
 * @param beta 1 - confidence of the lower bound
 * @param learningRate SGD learning rate (post-processing: changes no privacy figure)
 * @param seed canary inclusion, sampling, noise and initialisation (simulation only)
 */
public record AuditSettings(String model, int canaries, double noiseMultiplier, double assumedNoiseMultiplier,
                            double clipNorm, double samplingRate, int steps, double delta, double beta,
                            double learningRate, long seed) {
  public AuditSettings {
    if (!model.equals("logreg") && !model.equals("mlp")) {
      throw new IllegalArgumentException("audit model must be logreg or mlp, got '" + model + "'");
    }
    if (canaries < 2) {
      throw new IllegalArgumentException("an audit needs at least 2 canaries, got " + canaries);
    }
    if (!(noiseMultiplier > 0) || Double.isInfinite(noiseMultiplier)) {
      throw new IllegalArgumentException("noise multiplier must be > 0 and finite, got " + noiseMultiplier);
    }
    if (!(assumedNoiseMultiplier > 0) || Double.isInfinite(assumedNoiseMultiplier)) {
      throw new IllegalArgumentException("assumed noise multiplier must be > 0 and finite, got "
          + assumedNoiseMultiplier);
    }
    if (!(clipNorm > 0) || Double.isInfinite(clipNorm)) {
      throw new IllegalArgumentException("clip norm must be > 0 and finite, got " + clipNorm);
    }
    if (!(samplingRate > 0 && samplingRate <= 1)) {
      throw new IllegalArgumentException("sampling rate must be in (0, 1], got " + samplingRate);
    }
    if (steps < 1) {
      throw new IllegalArgumentException("steps must be >= 1, got " + steps);
    }
    if (!(delta > 0 && delta < 1)) {
      throw new IllegalArgumentException("delta must be in (0, 1), got " + delta);
    }
    if (!(beta > 0 && beta < 1)) {
      throw new IllegalArgumentException("beta (1 - confidence) must be in (0, 1), got " + beta);
    }
    if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
      throw new IllegalArgumentException("learning rate must be > 0 and finite, got " + learningRate);
    }
  }
}

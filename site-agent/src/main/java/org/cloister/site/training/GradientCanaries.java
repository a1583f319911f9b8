package org.cloister.site.training;

import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * AUDIT ONLY: Dirac gradient canaries (Steinke, Nasr, Jagielski 2023) that go through the real
 * DP-SGD step. Canary i is a virtual example whose clipped gradient is C times the unit vector
 * of parameter coordinate {@code coordinates[i]}; an included canary joins each step's batch
 * independently with the trainer's sampling rate q, like any example, and is summed before the
 * grid release (so it is noised exactly as real examples are). Its white-box score is the sum
 * over steps of the released (noised, unscaled) sum at its coordinate.
 *
 * <p>Attach with {@link DpSgdTrainer#auditWith}; never used by a site in production.
 */
public final class GradientCanaries {
  private final int[] coordinates;
  private final boolean[] included;
  private final double[] scores;
  private long steps;

  /**
   * @param coordinates the flat-parameter coordinate of each canary (distinct)
   * @param included whether each canary is in the training set (secret from the scorer)
   */
  public GradientCanaries(int[] coordinates, boolean[] included) {
    Objects.requireNonNull(coordinates, "coordinates");
    Objects.requireNonNull(included, "included");
    if (coordinates.length != included.length || coordinates.length == 0) {
      throw new IllegalArgumentException("need one inclusion flag per canary coordinate and at least one canary, got "
          + coordinates.length + " coordinates and " + included.length + " flags");
    }
    if (java.util.Arrays.stream(coordinates).distinct().count() != coordinates.length) {
      throw new IllegalArgumentException("canary coordinates must be distinct");
    }
    this.coordinates = coordinates.clone();
    this.included = included.clone();
    this.scores = new double[coordinates.length];
  }

  public int size() {
    return coordinates.length;
  }

  /** The white-box scores so far (sum over steps of the released value at each canary's coordinate). */
  public double[] scores() {
    return scores.clone();
  }

  /** Steps observed. */
  public long steps() {
    return steps;
  }

  /** Adds the canaries sampled into this step (each included one with probability q) to the clipped sum. */
  void addSampled(double[] clippedSum, double clipNorm, double samplingRate, RandomGenerator sampling) {
    for (int i = 0; i < coordinates.length; i++) {
      if (coordinates[i] < 0 || coordinates[i] >= clippedSum.length) {
        throw new IllegalArgumentException("canary coordinate " + coordinates[i] + " outside the model's "
            + clippedSum.length + " parameters");
      }
      if (included[i] && sampling.nextDouble() < samplingRate) {
        clippedSum[coordinates[i]] += clipNorm;
      }
    }
  }

  /** Scores one step's release (before the 1/(qn) scaling). */
  void observe(double[] released) {
    for (int i = 0; i < coordinates.length; i++) {
      scores[i] += released[coordinates[i]];
    }
    steps++;
  }
}

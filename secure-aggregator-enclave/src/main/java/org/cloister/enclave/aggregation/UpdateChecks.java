package org.cloister.enclave.aggregation;

import java.util.Locale;
import org.cloister.aggregation.RejectReason;

/**
 * The enclave's checks of one update, in one place: its weight, its dimension, and its values
 * (finite, L2 norm within the policy's bound). {@link AggregationSession} applies them inside the
 * enclave; the simulations' in-process aggregators call the same methods, so an update is refused
 * for the same reason, with the same words, on every engine. Reasons are tagged
 * ({@code not_finite: ...}) and never name a value of the update.
 */
public final class UpdateChecks {
  /** The largest weight (num_examples) an update may carry. */
  public static final long MAX_WEIGHT = 1L << 40;

  private final int dimension;
  private final double maxNorm;
  private final double maxSquaredNorm;

  /** @param maxUpdateL2Norm the policy's bound on an update's L2 norm */
  public UpdateChecks(int dimension, double maxUpdateL2Norm) {
    if (dimension < 1) {
      throw new IllegalArgumentException("dimension must be >= 1, got " + dimension);
    }
    if (!(maxUpdateL2Norm > 0) || Double.isInfinite(maxUpdateL2Norm)) {
      throw new IllegalArgumentException("the update norm bound must be positive and finite, got " + maxUpdateL2Norm);
    }
    this.dimension = dimension;
    this.maxNorm = maxUpdateL2Norm;
    this.maxSquaredNorm = maxUpdateL2Norm * maxUpdateL2Norm;
  }

  public int dimension() {
    return dimension;
  }

  public double maxUpdateL2Norm() {
    return maxNorm;
  }

  /** Why {@code numExamples} is no usable weight, or null. */
  public static String weightProblem(long numExamples) {
    if (numExamples < 1 || numExamples > MAX_WEIGHT) {
      return tag(RejectReason.BAD_WEIGHT) + "num_examples must be in [1, 2^40], got " + numExamples;
    }
    return null;
  }

  /** Why an update of {@code parameters} values does not fit this model, or null. */
  public String dimensionProblem(long parameters) {
    if (parameters != dimension) {
      return tag(RejectReason.WRONG_DIMENSION) + "update has " + parameters + " parameters, expected " + dimension;
    }
    return null;
  }

  /**
   * Why the update {@code values[off, off + 4 * dimension)} (little-endian floats) is refused, or
   * null when it is valid.
   *
   * @param squares its sum of squares as the kernel computed it while summing (not finite when a
   *     value is not finite or the fast sum overflowed: then the exact one decides)
   */
  public String valueProblem(byte[] values, int off, double squares) {
    double sq = squares;
    if (!Double.isFinite(sq)) {
      if (UpdateKernel.firstNonFinite(values, off, dimension) >= 0) {
        return tag(RejectReason.NOT_FINITE) + "the update contains NaN or infinite values";
      }
      sq = UpdateKernel.exactSumOfSquares(values, off, dimension);
    }
    if (!(sq <= maxSquaredNorm)) {
      return tag(RejectReason.NORM_EXCEEDED) + String.format(Locale.ROOT,
          "the update's L2 norm exceeds the policy bound %.6g", maxNorm);
    }
    return null;
  }

  static String tag(RejectReason r) {
    return r.name().toLowerCase(Locale.ROOT) + ": ";
  }
}

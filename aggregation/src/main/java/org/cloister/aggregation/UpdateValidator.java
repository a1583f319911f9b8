package org.cloister.aggregation;

/**
 * Checks an update before it is summed: expected dimension, finite values and, when the study's
 * DP policy implies one, a bound on its L2 norm.
 */
public record UpdateValidator(int expectedDimension, double maxL2Norm) {

  /** A validator with no norm bound. */
  public static UpdateValidator dimensionOnly(int expectedDimension) {
    return new UpdateValidator(expectedDimension, Double.POSITIVE_INFINITY);
  }

  public void validate(float[] delta) {
    if (delta.length != expectedDimension) {
      throw new UpdateRejectedException(RejectReason.WRONG_DIMENSION,
          "update has " + delta.length + " parameters, expected " + expectedDimension);
    }
    double sq = 0;
    for (int i = 0; i < delta.length; i++) {
      float v = delta[i];
      if (!Float.isFinite(v)) {
        throw new UpdateRejectedException(RejectReason.NOT_FINITE, "parameter " + i + " is not finite");
      }
      sq += (double) v * v;
    }
    double norm = Math.sqrt(sq);
    if (norm > maxL2Norm) {
      throw new UpdateRejectedException(RejectReason.NORM_EXCEEDED,
          String.format(java.util.Locale.ROOT, "L2 norm %.4g exceeds the bound %.4g", norm, maxL2Norm));
    }
  }
}

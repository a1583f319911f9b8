package org.cloister.site.training;

/**
 * What clipping one batch did: per-example gradient norms before clipping (flat, over all
 * parameters) and how many examples were clipped. Local information: never leaves the site.
 *
 * @param nonFinite positions (within the batch) of examples whose gradient is NaN or infinite;
 *     when not empty, the clipped sum was not computed and the caller must drop those examples
 */
record ClippedBatch(double[] norms, int clipped, int[] nonFinite) {
  ClippedBatch(double[] norms, int clipped) {
    this(norms, clipped, new int[0]);
  }

  static ClippedBatch nonFinite(double[] norms, int[] positions) {
    return new ClippedBatch(norms, 0, positions);
  }

  boolean complete() {
    return nonFinite.length == 0;
  }

  int size() {
    return norms.length;
  }

  /** Positions of the non-finite entries of {@code values}. */
  static int[] nonFinitePositions(double[] values) {
    return java.util.stream.IntStream.range(0, values.length).filter(i -> !Double.isFinite(values[i])).toArray();
  }
}

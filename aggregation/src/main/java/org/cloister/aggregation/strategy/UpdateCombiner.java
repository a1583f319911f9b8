package org.cloister.aggregation.strategy;

/**
 * A robust combination of a round's valid updates that a streaming weighted sum cannot express
 * (e.g. the coordinate-wise median). It sees every update of the round at once; the updates'
 * example counts are not used (a robust rule treats every site alike).
 */
@FunctionalInterface
public interface UpdateCombiner {

  /**
   * Combines {@code updates[0..count)}, each of {@code dimension} values, into one delta. The
   * arrays may be reused by the caller afterwards; do not keep them.
   */
  float[] combine(float[][] updates, int count, int dimension);
}

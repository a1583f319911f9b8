package org.cloister.site.training;

/**
 * What clipping one batch did: per-example gradient norms before clipping (flat, over all
 * parameters) and how many examples were clipped. Local information: never leaves the site.
 */
record ClippedBatch(double[] norms, int clipped) {
  int size() {
    return norms.length;
  }
}

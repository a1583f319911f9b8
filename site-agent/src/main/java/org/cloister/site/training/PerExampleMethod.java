package org.cloister.site.training;

/** How per-example clipped gradients are computed. Both give the same result. */
public enum PerExampleMethod {
  /** One batched pass: per-example norms from activations and deltas (the default). */
  VECTORIZED,
  /** DL4J backpropagation one example at a time: the slow reference, for benchmarks and checks. */
  NAIVE_LOOP
}

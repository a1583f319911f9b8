package org.cloister.inference.enclave;

import java.util.Arrays;

/**
 * The model in enclave memory: the policy's architecture evaluated by {@link InferenceKernel} from the
 * decrypted weights (no DL4J inside the enclave). {@link #drop()} overwrites the weights.
 * Thread-safe.
 */
final class ServedNetwork {
  private InferenceKernel kernel;

  /**
   * @throws IllegalArgumentException the policy's architecture is not one the kernel evaluates (named), or the
   *                                  artifact's parameter count is not that architecture's
   */
  ServedNetwork(InferencePolicy policy, float[] weights) {
    this.kernel = InferenceKernel.of(policy.modelName(), policy.numFeatures(), policy.numClasses(), weights);
  }

  /** Class probabilities, row-major, for {@code rows} rows of the policy's feature count. */
  synchronized float[] probabilities(float[] features, int rows) {
    if (kernel == null) {
      throw new IllegalStateException("the model was dropped");
    }
    return kernel.probabilities(features, rows);
  }

  synchronized boolean loaded() {
    return kernel != null;
  }

  /** Overwrites the weights in memory and forgets the model; false if already dropped. */
  synchronized boolean drop() {
    if (kernel == null) {
      return false;
    }
    kernel.wipe();
    kernel = null;
    return true;
  }

  static void wipe(float[] a) {
    Arrays.fill(a, 0f);
  }
}

package org.cloister.inference.enclave;

import java.util.Arrays;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The model in enclave memory: a DL4J network of the policy's architecture holding the decrypted
 * weights. {@link #drop()} overwrites the weights and releases the network. Thread-safe.
 */
final class ServedNetwork {
  private final InferencePolicy policy;
  private MultiLayerNetwork net;

  ServedNetwork(InferencePolicy policy, float[] weights) {
    this.policy = policy;
    MultiLayerNetwork n = ModelZoo.newNetwork(ModelZoo.byName(policy.modelName()), policy.numFeatures(),
        policy.numClasses(), 0L, null, DataType.FLOAT);
    if (n.numParams() != weights.length) {
      throw new IllegalArgumentException("model " + policy.modelName() + " with " + policy.numFeatures() + " features and "
          + policy.numClasses() + " classes has " + n.numParams() + " parameters, the artifact has " + weights.length);
    }
    Parameters.set(n, weights);
    this.net = n;
  }

  /** Class probabilities, row-major, for {@code rows} rows of the policy's feature count. */
  synchronized float[] probabilities(float[] features, int rows) {
    if (net == null) {
      throw new IllegalStateException("the model was dropped");
    }
    INDArray in = Nd4j.create(features, new long[] {rows, policy.numFeatures()}, 'c');
    INDArray out = net.output(in, false);
    return out.dup('c').reshape(out.length()).toFloatVector();
  }

  synchronized boolean loaded() {
    return net != null;
  }

  /** Overwrites the weights in memory and forgets the network; false if already dropped. */
  synchronized boolean drop() {
    if (net == null) {
      return false;
    }
    net.params().assign(0);
    net = null;
    return true;
  }

  static void wipe(float[] a) {
    Arrays.fill(a, 0f);
  }
}

package org.cloister.aggregation.strategy;

/**
 * Turns the round's combined delta into the next global model. One instance serves a whole study,
 * so it may keep state across rounds (FedAdam's moments); that state is derived from updates and
 * stays in the aggregator's memory.
 */
@FunctionalInterface
public interface ServerStep {

  /** The next global weights; {@code global} and {@code delta} are not modified. */
  float[] step(float[] global, float[] delta);

  /** {@code global + learningRate * delta} (plain FedAvg with a server learning rate). */
  static ServerStep sgd(double learningRate) {
    float lr = (float) learningRate;
    return (global, delta) -> {
      float[] out = new float[global.length];
      for (int i = 0; i < out.length; i++) {
        out[i] = global[i] + lr * delta[i];
      }
      return out;
    };
  }
}

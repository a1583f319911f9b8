package org.cloister.site.agent;

import org.cloister.protocol.v1.RoundTask;

/**
 * Trains the site's local model for one round, starting from the global weights. Implementations
 * hold the site's data; nothing they return may contain patient records (only the update and
 * aggregate metrics).
 */
public interface LocalTrainer {

  /**
   * Called once the site has joined: the study's model name and parameter count. A trainer that
   * cannot train that model (wrong architecture, feature count) throws, and the agent stops with
   * that message rather than failing every round.
   */
  default void joined(String modelName, int modelDimension) {
  }

  /** Number of local training examples (public metadata used to weight the update). */
  long numExamples();

  LocalUpdate train(float[] globalWeights, RoundTask task);

  /**
   * The final evaluation ({@link RoundTask#getFinalEvaluation()}): scores the final published model on the site's
   * held-out split and returns only the noised release with the event it spends (no training, an empty delta).
   * A trainer without a held-out split declines.
   *
   * @throws org.cloister.site.training.RoundDeclinedException when the site does not evaluate or it would overrun its
   *     budget (nothing is released)
   */
  default LocalUpdate evaluateOnly(float[] globalWeights, RoundTask task) {
    throw new org.cloister.site.training.RoundDeclinedException("this site does not take part in federated evaluation");
  }
}

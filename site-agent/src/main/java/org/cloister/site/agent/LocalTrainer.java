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
}

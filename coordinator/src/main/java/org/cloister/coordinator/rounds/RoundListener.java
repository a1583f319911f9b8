package org.cloister.coordinator.rounds;

/** Observes a study's progress (progress lines, metrics, evaluation in simulations). */
public interface RoundListener {
  /**
   * A round was opened for {@code selected} (called on the engine's thread, outside its lock; an
   * in-process simulation hands the task to its virtual sites here instead of their long polls).
   */
  default void roundOpened(org.cloister.protocol.v1.RoundTask task, java.util.List<String> selected) {
  }

  default void roundCompleted(RoundResult result) {
  }

  /** An update was accepted for the open round (size only: the payload is never exposed). */
  default void updateAccepted(String siteId, int payloadBytes) {
  }

  /** The final evaluation after the last round closed (its record; {@code evaluation} null when no site answered). */
  default void finalEvaluationCompleted(RoundResult result) {
  }

  default void studyFinished(String status) {
  }
}

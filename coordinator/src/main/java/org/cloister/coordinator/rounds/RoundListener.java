package org.cloister.coordinator.rounds;

/** Observes a study's progress (progress lines, metrics, evaluation in simulations). */
public interface RoundListener {
  default void roundCompleted(RoundResult result) {
  }

  /** An update was accepted for the open round (size only: the payload is never exposed). */
  default void updateAccepted(String siteId, int payloadBytes) {
  }

  default void studyFinished(String status) {
  }
}

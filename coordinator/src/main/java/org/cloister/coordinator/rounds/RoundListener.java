package org.cloister.coordinator.rounds;

/** Observes a study's progress (progress lines, metrics, evaluation in simulations). */
public interface RoundListener {
  default void roundCompleted(RoundResult result) {
  }

  default void studyFinished(String status) {
  }
}

package org.cloister.coordinator.study;

/** Lifecycle of a study. */
public enum StudyStatusKind {
  WAITING_FOR_SITES, RUNNING, PAUSED, FINISHED;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
  }
}

package org.cloister.coordinator.study;

import java.time.Duration;
import java.util.Objects;
import org.cloister.protocol.v1.TrainingConfig;

/**
 * Everything the coordinator needs to run one study. The coordinator is model-agnostic: it knows
 * the model by name and dimension, and the initial weights arrive as an opaque artifact.
 *
 * @param studyId           unique id of the study
 * @param modelName         model-zoo architecture name (informational for the coordinator)
 * @param modelDimension    number of parameters
 * @param totalRounds       rounds to run
 * @param minSitesPerRound  quorum: a round is aggregated only with at least this many accepted updates
 * @param maxSitesPerRound  at most this many sites are asked per round (0 = all available)
 * @param roundDeadline     how long a round collects updates
 * @param joinTimeout       how long the study waits for {@code minSitesPerRound} sites before pausing
 * @param maxRoundAttempts  attempts per round before the study pauses for lack of quorum
 * @param training          the training configuration sent with each task
 * @param maxUpdateBytes    largest accepted update payload
 * @param expectedSites     sites registered for the study (0 = unknown); before each round the engine waits
 *                          up to {@code startGrace} for all of them once the quorum is there
 * @param startGrace        how long to wait for the remaining expected sites
 * @param privacyLedger     every update must carry a privacy spend signed by the site's certificate key
 */
public record StudyConfig(String studyId, String modelName, int modelDimension, int totalRounds,
                          int minSitesPerRound, int maxSitesPerRound, Duration roundDeadline,
                          Duration joinTimeout, int maxRoundAttempts, TrainingConfig training,
                          int maxUpdateBytes, int expectedSites, Duration startGrace, boolean privacyLedger) {
  public StudyConfig {
    Objects.requireNonNull(studyId, "studyId");
    Objects.requireNonNull(training, "training");
    if (studyId.isBlank()) {
      throw new IllegalArgumentException("studyId is blank");
    }
    if (modelDimension < 1) {
      throw new IllegalArgumentException("modelDimension must be >= 1, got " + modelDimension);
    }
    if (totalRounds < 1) {
      throw new IllegalArgumentException("totalRounds must be >= 1, got " + totalRounds);
    }
    if (minSitesPerRound < 1) {
      throw new IllegalArgumentException("minSitesPerRound must be >= 1, got " + minSitesPerRound);
    }
    if (maxSitesPerRound != 0 && maxSitesPerRound < minSitesPerRound) {
      throw new IllegalArgumentException("maxSitesPerRound " + maxSitesPerRound + " < minSitesPerRound " + minSitesPerRound);
    }
    if (roundDeadline.isNegative() || roundDeadline.isZero()) {
      throw new IllegalArgumentException("roundDeadline must be positive");
    }
    if (maxRoundAttempts < 1) {
      throw new IllegalArgumentException("maxRoundAttempts must be >= 1");
    }
    if (expectedSites < 0) {
      throw new IllegalArgumentException("expectedSites must be >= 0, got " + expectedSites);
    }
    if (startGrace.isNegative()) {
      throw new IllegalArgumentException("startGrace must not be negative");
    }
    if (maxUpdateBytes < 4) {
      throw new IllegalArgumentException("maxUpdateBytes too small: " + maxUpdateBytes);
    }
  }

  /** Default limit: the plaintext update plus 64 KiB of envelope overhead. */
  public static int defaultMaxUpdateBytes(int modelDimension) {
    return modelDimension * Float.BYTES + 64 * 1024;
  }
}

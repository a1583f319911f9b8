package org.cloister.aggregation;

/** Why an update was rejected (used as a metric tag, so kept to a small fixed set). */
public enum RejectReason {
  WRONG_DIMENSION, NOT_FINITE, NORM_EXCEEDED, BAD_WEIGHT, MALFORMED, REPLAYED, WRONG_ROUND, WRONG_MODEL_VERSION, DECRYPTION_FAILED,
  /** No valid contribution statement signed by a consortium member's certificate (secure aggregator). */
  UNAUTHENTICATED,
  /** The statement does not carry the enclave's challenge for this round (another round, or an earlier enclave). */
  WRONG_CHALLENGE,
  /** The statement binds another base model digest than the one the enclave aggregates the round against. */
  WRONG_BASE_MODEL,
  /** The sealed payload is not the one the site's statement signed (e.g. swapped by the host). */
  PAYLOAD_MISMATCH,
  /** The signer is a consortium member that never trains (an observer). */
  NOT_A_TRAINING_SITE
}

package org.cloister.aggregation;

/** Why an update was rejected (used as a metric tag, so kept to a small fixed set). */
public enum RejectReason {
  WRONG_DIMENSION, NOT_FINITE, NORM_EXCEEDED, BAD_WEIGHT, MALFORMED, REPLAYED, WRONG_ROUND, WRONG_MODEL_VERSION, DECRYPTION_FAILED
}

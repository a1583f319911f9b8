package org.cloister.data;

/** What a loader does with a row that fails the schema. */
public enum BadRowPolicy {
  /** Stop at the first bad row with a {@link DataFormatException} naming its line. */
  FAIL,
  /** Skip bad rows and report each of them (line and reason) in the load result. */
  SKIP
}

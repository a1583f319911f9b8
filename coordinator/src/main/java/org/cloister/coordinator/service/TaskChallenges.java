package org.cloister.coordinator.service;

import com.google.protobuf.ByteString;
import org.cloister.protocol.v1.RoundTask;

/**
 * The secure aggregator's round challenge handed to a site with its task ({@code
 * PollTaskResponse.round_challenge}), over the nonce the site sent with the poll that receives it, so
 * that the site does not have to ask for it through the relay after it received the task. The site
 * verifies it exactly as one it asked for; this only saves it a round trip (docs/trust.md).
 */
@FunctionalInterface
public interface TaskChallenges {
  /** No secure aggregator: nothing is attached. */
  TaskChallenges NONE = (task, nonce) -> ByteString.EMPTY;

  /**
   * A serialized {@code RoundChallenge} for {@code task}'s round over the site's {@code nonce}, or empty
   * when none can be had (the site then asks itself). Never throws.
   */
  ByteString challengeFor(RoundTask task, ByteString nonce);
}

package org.cloister.coordinator.service;

import com.google.protobuf.ByteString;
import org.cloister.protocol.v1.PollTaskResponse;
import org.cloister.protocol.v1.RoundTask;

/**
 * What the coordinator hands a site with its task so that the site need not ask for it afterwards:
 * the secure aggregator's round challenge over the nonce the site sent with the poll that receives the
 * task ({@code PollTaskResponse.round_challenge}) and the site's sealed copy of the model's content key
 * ({@code PollTaskResponse.sealed_model_copy}). The site verifies both exactly as what it fetches
 * itself; they only save it round trips at the round's start (docs/trust.md).
 */
@FunctionalInterface
public interface TaskAttachments {
  /** No secure aggregator: nothing is attached. */
  TaskAttachments NONE = (siteId, task, nonce, response) -> { };

  /**
   * Adds to {@code response} (which carries {@code task} for {@code siteId}) what can be had; {@code nonce}
   * is the site's poll nonce (empty: it sent none, so no challenge). Never throws: what is missing, the
   * site asks for itself.
   */
  void attach(String siteId, RoundTask task, ByteString nonce, PollTaskResponse.Builder response);
}

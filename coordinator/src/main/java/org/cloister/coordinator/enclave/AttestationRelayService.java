package org.cloister.coordinator.enclave;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.TimeUnit;
import org.cloister.protocol.v1.AttestationRelayGrpc;
import org.cloister.protocol.v1.AttestationRequest;
import org.cloister.protocol.v1.AttestationResponse;
import org.cloister.protocol.v1.RoundChallenge;
import org.cloister.protocol.v1.RoundChallengeRequest;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.protocol.v1.SealedModelRequest;
import org.cloister.protocol.v1.SecureAggregatorGrpc;
import com.google.protobuf.ByteString;
import org.cloister.coordinator.service.TaskAttachments;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.PollTaskResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Served by the coordinator next to {@code Federation}: relays sites' attestation requests to the
 * and round-challenge requests to the enclave unchanged (sites verify the documents and the
 * enclave's signatures themselves; the coordinator is not trusted with
 * that) and hands out the sealed model copies it stores (ciphertext only their member can open).
 * Register it on the coordinator's server, e.g. through the server builder customizer. As the
 * {@link TaskAttachments} of the coordinator's server it also asks the enclave for a round's challenge over
 * the nonce a site sent with its poll and adds the site's sealed model copy, so that both go out with the
 * site's task.
 */
public final class AttestationRelayService extends AttestationRelayGrpc.AttestationRelayImplBase
    implements TaskAttachments {
  private static final Logger log = LoggerFactory.getLogger(AttestationRelayService.class);
  /** How long a poll's answer waits for the enclave's challenge before the task goes out without it. */
  static final long TASK_CHALLENGE_DEADLINE_MS = 5_000;
  private final SecureAggregatorGrpc.SecureAggregatorBlockingStub enclave;
  private final SealedModelStore store;

  public AttestationRelayService(Channel enclave, SealedModelStore store) {
    this.enclave = SecureAggregatorGrpc.newBlockingStub(enclave);
    this.store = store;
  }

  @Override
  public void getAttestation(AttestationRequest req, StreamObserver<AttestationResponse> out) {
    try {
      out.onNext(enclave.withDeadlineAfter(30, TimeUnit.SECONDS).getAttestation(req));
      out.onCompleted();
    } catch (StatusRuntimeException e) {
      out.onError(e.getStatus().getCode() == Status.Code.UNAVAILABLE
          ? Status.UNAVAILABLE.withDescription("the secure aggregator is not reachable").asRuntimeException() : e);
    }
  }

  @Override
  public void getRoundChallenge(RoundChallengeRequest req, StreamObserver<RoundChallenge> out) {
    try {
      out.onNext(enclave.withDeadlineAfter(30, TimeUnit.SECONDS).getRoundChallenge(req));
      out.onCompleted();
    } catch (StatusRuntimeException e) {
      out.onError(e.getStatus().getCode() == Status.Code.UNAVAILABLE
          ? Status.UNAVAILABLE.withDescription("the secure aggregator is not reachable").asRuntimeException() : e);
    }
  }

  /**
   * The enclave's challenge for the task's round over a site's poll nonce, asked for exactly as the site
   * would through {@link #getRoundChallenge} (with the same hint: the digest of a public initial model),
   * or empty when the enclave does not answer in time or refuses (the site then asks itself).
   */
  @Override
  public void attach(String siteId, RoundTask task, ByteString nonce, PollTaskResponse.Builder response) {
    if (!nonce.isEmpty()) {
      response.setRoundChallenge(challengeFor(task, nonce));
    }
    if (!FloatCodec.WEIGHTS_F32LE.equals(task.getModel().getFormat())) {
      store.copy(task.getStudyId(), task.getModel().getVersion(), siteId)
          .ifPresent(c -> response.setSealedModelCopy(c.toByteString()));
    }
  }

  public ByteString challengeFor(RoundTask task, ByteString nonce) {
    RoundChallengeRequest.Builder r = RoundChallengeRequest.newBuilder().setStudyId(task.getStudyId())
        .setRound(task.getRound()).setRoundId(task.getRoundId()).setBaseModelVersion(task.getModel().getVersion())
        .setNonce(nonce);
    if (FloatCodec.WEIGHTS_F32LE.equals(task.getModel().getFormat())) {
      r.setBaseModelSha256(ByteString.copyFrom(FloatCodec.sha256(task.getModel().getPayload())));
    }
    try {
      return enclave.withDeadlineAfter(TASK_CHALLENGE_DEADLINE_MS, TimeUnit.MILLISECONDS).getRoundChallenge(r.build())
          .toByteString();
    } catch (StatusRuntimeException e) {
      log.debug("round {}: no round challenge to hand out with the task ({}); the site asks itself", task.getRound(),
          e.getStatus().getCode());
      return ByteString.EMPTY;
    }
  }

  @Override
  public void fetchSealedModel(SealedModelRequest req, StreamObserver<SealedModelCopy> out) {
    store.copy(req.getStudyId(), req.getVersion(), req.getMemberId()).ifPresentOrElse(c -> {
      out.onNext(c);
      out.onCompleted();
    }, () -> out.onError(Status.NOT_FOUND.withDescription("no sealed copy of study " + req.getStudyId() + " version "
        + req.getVersion() + " for member " + req.getMemberId()).asRuntimeException()));
  }
}

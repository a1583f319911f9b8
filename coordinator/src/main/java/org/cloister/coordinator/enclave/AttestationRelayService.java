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

/**
 * Served by the coordinator next to {@code Federation}: relays sites' attestation requests to the
 * and round-challenge requests to the enclave unchanged (sites verify the documents and the
 * enclave's signatures themselves; the coordinator is not trusted with
 * that) and hands out the sealed model copies it stores (ciphertext only their member can open).
 * Register it on the coordinator's server, e.g. through the server builder customizer.
 */
public final class AttestationRelayService extends AttestationRelayGrpc.AttestationRelayImplBase {
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

  @Override
  public void fetchSealedModel(SealedModelRequest req, StreamObserver<SealedModelCopy> out) {
    store.copy(req.getStudyId(), req.getVersion(), req.getMemberId()).ifPresentOrElse(c -> {
      out.onNext(c);
      out.onCompleted();
    }, () -> out.onError(Status.NOT_FOUND.withDescription("no sealed copy of study " + req.getStudyId() + " version "
        + req.getVersion() + " for member " + req.getMemberId()).asRuntimeException()));
  }
}

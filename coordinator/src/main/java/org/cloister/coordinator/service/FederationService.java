package org.cloister.coordinator.service;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;
import org.cloister.coordinator.rounds.RequestRejectedException;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.FetchModelRequest;
import org.cloister.protocol.v1.JoinRequest;
import org.cloister.protocol.v1.JoinResponse;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.PollTaskRequest;
import org.cloister.protocol.v1.PollTaskResponse;
import org.cloister.protocol.v1.ReconcileSpendsRequest;
import org.cloister.protocol.v1.ReconcileSpendsResponse;
import org.cloister.protocol.v1.RoundSummary;
import org.cloister.protocol.v1.StudyFinished;
import org.cloister.protocol.v1.StudyStatus;
import org.cloister.protocol.v1.StudyStatusRequest;
import org.cloister.protocol.v1.SubmitUpdateResponse;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.cloister.protocol.v1.Wait;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The coordinator's gRPC endpoint: maps requests onto the round engine and its refusals onto gRPC statuses. */
public final class FederationService extends FederationGrpc.FederationImplBase {
  private static final Logger log = LoggerFactory.getLogger(FederationService.class);
  private static final int MAX_WAIT_MS = 30_000;
  /** Bounds of a poll's challenge nonce (the enclave's bounds for round challenge nonces). */
  static final int MIN_NONCE = 16;
  static final int MAX_NONCE = 64;

  private final RoundEngine engine;
  private final RejectionCounter rejections;
  private final TaskAttachments attachments;

  /** Counts refused requests by reason (wired to metrics). */
  @FunctionalInterface
  public interface RejectionCounter {
    void count(String rpc, String reason);
  }

  public FederationService(RoundEngine engine, RejectionCounter rejections) {
    this(engine, rejections, TaskAttachments.NONE);
  }

  /** @param attachments what the secure aggregator's sites receive with their tasks ({@link TaskAttachments#NONE}: nothing) */
  public FederationService(RoundEngine engine, RejectionCounter rejections, TaskAttachments attachments) {
    this.engine = engine;
    this.rejections = rejections;
    this.attachments = java.util.Objects.requireNonNull(attachments, "attachments");
  }

  @Override
  public void join(JoinRequest req, StreamObserver<JoinResponse> out) {
    respond("Join", out, () -> {
      requireStudy(req.getStudyId());
      String site = SiteIdentity.current();
      engine.join(site, req.getNumExamples());
      return JoinResponse.newBuilder()
          .setStudyId(req.getStudyId())
          .setSiteId(site)
          .setModelName(engine.config().modelName())
          .setModelDimension(engine.config().modelDimension())
          .setTotalRounds(engine.config().totalRounds())
          .build();
    });
  }

  @Override
  public void pollTask(PollTaskRequest req, StreamObserver<PollTaskResponse> out) {
    respond("PollTask", out, () -> {
      requireStudy(req.getStudyId());
      int nonce = req.getChallengeNonce().size();
      if (nonce != 0 && (nonce < MIN_NONCE || nonce > MAX_NONCE)) {
        throw Status.INVALID_ARGUMENT.withDescription("challenge_nonce must be " + MIN_NONCE + ".." + MAX_NONCE
            + " bytes (or empty), got " + nonce).asRuntimeException();
      }
      int wait = Math.min(req.getWaitMs(), MAX_WAIT_MS);
      RoundEngine.Poll p;
      try {
        p = engine.pollTask(SiteIdentity.current(), wait);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw Status.CANCELLED.withDescription("server shutting down").asRuntimeException();
      }
      PollTaskResponse.Builder b = PollTaskResponse.newBuilder();
      if (p instanceof RoundEngine.Poll.Task t) {
        b.setTask(t.task());
        if (!t.task().getFinalEvaluation()) { // a final evaluation sends the enclave nothing: no challenge, no update
          // the enclave's challenge over the site's nonce and the site's sealed model key: not asked for afterwards
          attachments.attach(SiteIdentity.current(), t.task(), req.getChallengeNonce(), b);
        }
      } else if (p instanceof RoundEngine.Poll.Idle i) {
        b.setWait(Wait.newBuilder().setReason(i.reason()).setRetryAfterMs(0));
      } else if (p instanceof RoundEngine.Poll.Finished f) {
        b.setFinished(StudyFinished.newBuilder().setRoundsCompleted(f.roundsCompleted())
            .setFinalModelVersion(f.finalModelVersion()).setStatus(f.status()));
      }
      return b.build();
    });
  }

  @Override
  public void submitUpdate(UpdateEnvelope req, StreamObserver<SubmitUpdateResponse> out) {
    respond("SubmitUpdate", out, () -> {
      requireStudy(req.getStudyId());
      engine.submit(SiteIdentity.current(), SiteIdentity.certificate(), req);
      return SubmitUpdateResponse.newBuilder().setAccepted(true).build();
    });
  }

  @Override
  public void reconcileSpends(ReconcileSpendsRequest req, StreamObserver<ReconcileSpendsResponse> out) {
    respond("ReconcileSpends", out, () -> {
      requireStudy(req.getStudyId());
      RoundEngine.Reconciliation r = engine.reconcile(SiteIdentity.current(), SiteIdentity.certificate(), req.getSpendsList());
      return ReconcileSpendsResponse.newBuilder().addAllRecordedRoundIds(r.recordedRoundIds()).addAllRefused(r.refused()).build();
    });
  }

  @Override
  public void fetchModel(FetchModelRequest req, StreamObserver<ModelArtifact> out) {
    respond("FetchModel", out, () -> {
      requireStudy(req.getStudyId());
      return engine.model(req.getVersion()).orElseThrow(() -> new RequestRejectedException(
          RequestRejectedException.Kind.NOT_FOUND, "unknown_model_version", "no model version " + req.getVersion()));
    });
  }

  @Override
  public void getStudyStatus(StudyStatusRequest req, StreamObserver<StudyStatus> out) {
    respond("GetStudyStatus", out, () -> {
      requireStudy(req.getStudyId());
      StudyStatus.Builder b = StudyStatus.newBuilder()
          .setStudyId(req.getStudyId())
          .setStatus(engine.status().label() + (engine.statusDetail().isEmpty() ? "" : ": " + engine.statusDetail()))
          .setCurrentRound(engine.currentRound())
          .setTotalRounds(engine.config().totalRounds())
          .setLatestModelVersion(engine.model(0).map(ModelArtifact::getVersion).orElse(0L));
      for (RoundResult r : engine.history()) {
        b.addRounds(RoundSummary.newBuilder().setRound(r.round()).setRoundId(r.roundId())
            .addAllSites(r.aggregated()).setModelVersion(r.modelVersion())
            .setStatus(r.quorumMet() ? "aggregated" : "no quorum")
            .addAllRejected(r.rejected().entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList()));
      }
      return b.build();
    });
  }

  private void requireStudy(String studyId) {
    if (!engine.config().studyId().equals(studyId)) {
      throw new RequestRejectedException(RequestRejectedException.Kind.NOT_FOUND, "unknown_study", "unknown study '" + studyId + "'");
    }
  }

  private <T> void respond(String rpc, StreamObserver<T> out, Supplier<T> body) {
    try {
      out.onNext(body.get());
      out.onCompleted();
    } catch (RequestRejectedException e) {
      rejections.count(rpc, e.metricReason());
      log.info("{} from {} refused: {}", rpc, SiteIdentity.current(), e.getMessage());
      out.onError(toStatus(e).withDescription(e.getMessage()).asRuntimeException());
    } catch (StatusRuntimeException e) {
      out.onError(e);
    } catch (RuntimeException e) {
      rejections.count(rpc, "internal");
      log.error("{} failed", rpc, e);
      out.onError(Status.INTERNAL.withDescription("internal error").asRuntimeException());
    }
  }

  private static Status toStatus(RequestRejectedException e) {
    return switch (e.kind()) {
      case NOT_FOUND -> Status.NOT_FOUND;
      case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
      case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
      case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
      case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
      case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
      case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
    };
  }
}

package org.cloister.coordinator.enclave;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.cloister.coordinator.aggregation.AggregationResult;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.protocol.v1.AggregateInput;
import org.cloister.protocol.v1.AggregateOutput;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundHeader;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.protocol.v1.SealedUpdate;
import org.cloister.protocol.v1.SecureAggregatorGrpc;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's {@link Aggregator} when aggregation runs in the secure enclave: it streams the
 * round's sealed updates (opaque bytes) to the enclave one at a time, with flow control, and stores
 * what comes back — the new model encrypted under a key-broker key, and one copy sealed to each
 * consortium member — without being able to read any of it. If the enclave cannot be reached or
 * refuses the round, every update of the round is reported rejected with the enclave's reason, so
 * the round engine retries or pauses instead of failing.
 */
public final class EnclaveAggregator implements Aggregator {
  private static final Logger log = LoggerFactory.getLogger(EnclaveAggregator.class);

  private final SecureAggregatorGrpc.SecureAggregatorStub stub;
  private final SealedModelStore store;
  private final Duration timeout;

  public EnclaveAggregator(Channel enclave, SealedModelStore store, Duration timeout) {
    this.stub = SecureAggregatorGrpc.newStub(enclave);
    this.store = store;
    this.timeout = timeout;
  }

  @Override
  public AggregationResult aggregate(String roundId, int round, ModelArtifact current, List<ReceivedUpdate> updates) {
    CompletableFuture<AggregateOutput> result = new CompletableFuture<>();
    Sender sender = new Sender(result);
    stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).aggregate(sender);
    try {
      sender.send(AggregateInput.newBuilder().setHeader(RoundHeader.newBuilder().setStudyId(current.getStudyId())
          .setRound(round).setRoundId(roundId).setBaseModel(current)).build());
      for (ReceivedUpdate u : updates) {
        UpdateEnvelope e = u.envelope();
        sender.send(AggregateInput.newBuilder().setUpdate(SealedUpdate.newBuilder().setSiteId(u.siteId())
            .setNumExamples(e.getNumExamples()).setBaseModelVersion(e.getBaseModelVersion())
            .setPayloadFormat(e.getPayloadFormat()).setPayload(e.getPayload()).setContribution(e.getContribution())).build());
      }
      sender.complete();
      AggregateOutput out = result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (out.getPublished()) {
        store.putArtifact(out.getModel());
        for (SealedModelCopy c : out.getCopiesList()) {
          store.putCopy(c);
        }
      }
      log.info("round {}: enclave {} ({} aggregated, {} rejected)", round,
          out.getPublished() ? "published version " + out.getModel().getVersion() : "published nothing",
          out.getAggregatedCount(), out.getRejectedCount());
      return new AggregationResult(out.getPublished() ? out.getModel() : null, out.getAggregatedList(),
          new LinkedHashMap<>(out.getRejectedMap()), out.getPublished() && out.hasReceipt() ? out.getReceipt() : null);
    } catch (ExecutionException e) {
      return failed(round, updates, Status.fromThrowable(e.getCause()));
    } catch (TimeoutException e) {
      sender.cancel();
      return failed(round, updates, Status.DEADLINE_EXCEEDED.withDescription("no answer within " + timeout.toSeconds() + " s"));
    } catch (InterruptedException e) {
      sender.cancel();
      Thread.currentThread().interrupt();
      return failed(round, updates, Status.CANCELLED.withDescription("interrupted"));
    } catch (RuntimeException e) {
      sender.cancel();
      return failed(round, updates, Status.fromThrowable(e));
    }
  }

  private static AggregationResult failed(int round, List<ReceivedUpdate> updates, Status s) {
    String reason = "secure aggregator: " + s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    log.warn("round {}: {}", round, reason);
    Map<String, String> rejected = new LinkedHashMap<>();
    for (ReceivedUpdate u : updates) {
      rejected.put(u.siteId(), reason);
    }
    return new AggregationResult(null, new ArrayList<>(), rejected);
  }

  /** Sends with flow control: waits while the transport is not ready, so updates are not buffered twice. */
  private static final class Sender implements ClientResponseObserver<AggregateInput, AggregateOutput> {
    private final CompletableFuture<AggregateOutput> result;
    private ClientCallStreamObserver<AggregateInput> requests;
    private AggregateOutput output;

    Sender(CompletableFuture<AggregateOutput> result) {
      this.result = result;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<AggregateInput> r) {
      this.requests = r;
      r.setOnReadyHandler(() -> {
        synchronized (this) {
          notifyAll();
        }
      });
    }

    synchronized void send(AggregateInput in) throws InterruptedException, ExecutionException {
      while (!requests.isReady() && !result.isDone()) {
        wait(100);
      }
      if (result.isDone()) {
        result.get(); // the enclave already answered (an error): stop sending
        throw new IllegalStateException("the enclave ended the call early");
      }
      requests.onNext(in);
    }

    void complete() {
      requests.onCompleted();
    }

    void cancel() {
      requests.cancel("coordinator gave up", null);
    }

    @Override
    public void onNext(AggregateOutput value) {
      output = value;
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
      synchronized (this) {
        notifyAll();
      }
    }

    @Override
    public void onCompleted() {
      if (output == null) {
        result.completeExceptionally(Status.INTERNAL.withDescription("the enclave sent no result").asRuntimeException());
      } else {
        result.complete(output);
      }
    }
  }
}

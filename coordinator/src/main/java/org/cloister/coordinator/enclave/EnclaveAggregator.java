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
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.cloister.coordinator.aggregation.AggregationResult;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.protocol.FloatCodec;
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
  /** How the enclave's refusal of a base named by reference begins ({@code SecureAggregatorService.BASE_NOT_HELD}). */
  static final String BASE_NOT_HELD = "base_model_not_held: ";

  private final SecureAggregatorGrpc.SecureAggregatorStub stub;
  private final SealedModelStore store;
  private final Duration timeout;
  /** Sends of the early-opened calls, in order, off the round engine's threads (daemon: never holds the JVM). */
  private final ExecutorService streamer = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "enclave-stream");
    t.setDaemon(true);
    return t;
  });
  private EarlyStream early;

  public EnclaveAggregator(Channel enclave, SealedModelStore store, Duration timeout) {
    this.stub = SecureAggregatorGrpc.newStub(enclave);
    this.store = store;
    this.timeout = timeout;
  }

  @Override
  public AggregationResult aggregate(String roundId, int round, ModelArtifact current, List<ReceivedUpdate> updates) {
    EarlyStream e;
    synchronized (this) {
      e = early;
      early = null;
    }
    if (e != null) {
      if (e.matches(roundId, round, current) && e.canFinish(updates)) {
        for (ReceivedUpdate u : updates) {
          e.sendIfNew(u); // normally none: every accepted update was streamed already
        }
        e.finish();
        Throwable failed = e.failedBeforeComplete();
        if (failed == null) {
          AggregationResult r = collect(round, updates, e.result, e.sender, true);
          if (r != null) {
            return r;
          }
          log.info("round {}: the enclave does not hold the base model the stream named by reference (restarted?); "
              + "sending the round again with the model in full", round);
        } else {
          log.info("round {}: the stream opened while updates arrived failed ({}); sending the round again in one call",
              round, Status.fromThrowable(failed).getCode());
        }
      } else {
        e.cancel("the round closed with other updates than it streamed");
      }
    }
    CompletableFuture<AggregateOutput> result = new CompletableFuture<>();
    Sender sender = new Sender(result);
    stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).aggregate(sender);
    try {
      sender.send(header(roundId, round, current));
      for (ReceivedUpdate u : updates) {
        sender.send(update(u));
      }
      sender.complete();
    } catch (ExecutionException ex) {
      return failed(round, updates, Status.fromThrowable(ex.getCause()));
    } catch (InterruptedException ex) {
      sender.cancel();
      Thread.currentThread().interrupt();
      return failed(round, updates, Status.CANCELLED.withDescription("interrupted"));
    } catch (RuntimeException ex) {
      sender.cancel();
      return failed(round, updates, Status.fromThrowable(ex));
    }
    return collect(round, updates, result, sender, false);
  }

  /**
   * Opens the round's Aggregate call at its first accepted update and streams each update as it is
   * accepted (on one sender thread, with flow control), so the enclave verifies, decrypts and sums
   * while the other sites are still sending; {@link #aggregate} then only ends the call. Nothing here
   * is trusted by the enclave: it is the same call, in the sites' arrival order instead of by site.
   */
  @Override
  public void accepted(String roundId, int round, ModelArtifact current, ReceivedUpdate update) {
    EarlyStream stale = null;
    EarlyStream e;
    synchronized (this) {
      if (early != null && !early.matches(roundId, round, current)) {
        stale = early;
        early = null;
      }
      if (early == null) {
        early = new EarlyStream(roundId, round, current);
      }
      e = early;
    }
    if (stale != null) {
      stale.cancel("a newer round started");
    }
    e.sendIfNew(update);
  }

  @Override
  public void abandoned(String roundId) {
    EarlyStream e;
    synchronized (this) {
      e = early != null && early.roundId.equals(roundId) ? early : null;
      if (e != null) {
        early = null;
      }
    }
    if (e != null) {
      e.cancel("the round closed without aggregation");
    }
  }

  /**
   * The round's result, stored; with {@code byReference}, null when the enclave refused the base the header named
   * by reference (it refuses before spending the round's challenge, so the round can be sent again in full).
   */
  private AggregationResult collect(int round, List<ReceivedUpdate> updates, CompletableFuture<AggregateOutput> result,
                                    Sender sender, boolean byReference) {
    try {
      AggregateOutput out;
      try {
        out = result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        Status s = Status.fromThrowable(e.getCause());
        if (byReference && s.getCode() == Status.Code.FAILED_PRECONDITION && s.getDescription() != null
            && s.getDescription().startsWith(BASE_NOT_HELD)) {
          return null;
        }
        throw e;
      }
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

  private static AggregateInput header(String roundId, int round, ModelArtifact current) {
    return AggregateInput.newBuilder().setHeader(RoundHeader.newBuilder().setStudyId(current.getStudyId())
        .setRound(round).setRoundId(roundId).setBaseModel(current)).build();
  }

  /**
   * The header of a streamed round: a model the enclave published (not the plaintext initial one) is named by
   * reference (its version and artifact digest, no payload), since the enclave holds the model it published last
   * and need not receive its 4 MB again. An enclave that does not hold it (restarted) refuses the reference before
   * spending the round's challenge, and {@link #aggregate} then sends the round again with the model in full.
   */
  static AggregateInput streamedHeader(String roundId, int round, ModelArtifact current) {
    if (FloatCodec.WEIGHTS_F32LE.equals(current.getFormat())) {
      return header(roundId, round, current);
    }
    return header(roundId, round, current.toBuilder().clearPayload().build());
  }

  private static AggregateInput update(ReceivedUpdate u) {
    UpdateEnvelope e = u.envelope();
    return AggregateInput.newBuilder().setUpdate(SealedUpdate.newBuilder().setSiteId(u.siteId())
        .setNumExamples(e.getNumExamples()).setBaseModelVersion(e.getBaseModelVersion())
        .setPayloadFormat(e.getPayloadFormat()).setPayload(e.getPayload()).setContribution(e.getContribution())).build();
  }

  /** A round's Aggregate call opened at its first accepted update; its sends run on {@link #streamer}, in order. */
  private final class EarlyStream {
    final String roundId;
    final int round;
    final long baseVersion;
    final CompletableFuture<AggregateOutput> result = new CompletableFuture<>();
    final Sender sender = new Sender(result);
    private final Set<String> queued = ConcurrentHashMap.newKeySet();
    private volatile Throwable failure;
    private volatile boolean completed;

    EarlyStream(String roundId, int round, ModelArtifact current) {
      this.roundId = roundId;
      this.round = round;
      this.baseVersion = current.getVersion();
      // no deadline: the round may stay open for hours; cancelled when it ends otherwise. In the root
      // context: the update's own (server) call, whose context this would inherit, ends long before the round
      io.grpc.Context.ROOT.run(() -> stub.aggregate(sender));
      AggregateInput h = streamedHeader(roundId, round, current);
      streamer.execute(() -> send(h));
    }

    boolean matches(String id, int r, ModelArtifact current) {
      return roundId.equals(id) && round == r && baseVersion == current.getVersion();
    }

    /** True when every streamed update is among the round's final ones (the round engine guarantees it). */
    boolean canFinish(List<ReceivedUpdate> updates) {
      Set<String> ids = new java.util.HashSet<>();
      updates.forEach(u -> ids.add(u.siteId()));
      return ids.containsAll(queued);
    }

    void sendIfNew(ReceivedUpdate u) {
      if (queued.add(u.siteId())) {
        streamer.execute(() -> send(update(u)));
      }
    }

    private void send(AggregateInput in) {
      if (failure != null) {
        return;
      }
      try {
        sender.send(in);
      } catch (ExecutionException e) {
        failure = e.getCause();
      } catch (InterruptedException e) {
        failure = e;
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        failure = e;
      }
    }

    /** Ends the call after everything queued was sent (waits for the sender thread). */
    void finish() {
      Future<?> done = streamer.submit(() -> {
        if (failure == null && !result.isDone()) {
          completed = true;
          sender.complete();
        }
      });
      try {
        done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException | TimeoutException e) {
        failure = e;
      } catch (InterruptedException e) {
        failure = e;
        Thread.currentThread().interrupt();
      }
    }

    /** Why the call failed before this side completed it (then the round may be sent again), or null. */
    Throwable failedBeforeComplete() {
      if (completed) {
        return null;
      }
      if (failure != null) {
        return failure;
      }
      if (result.isCompletedExceptionally()) {
        try {
          result.join();
        } catch (java.util.concurrent.CompletionException e) {
          return e.getCause();
        } catch (java.util.concurrent.CancellationException e) {
          return e;
        }
      }
      return new IllegalStateException("the call ended before it was completed");
    }

    void cancel(String why) {
      failure = new IllegalStateException(why);
      sender.cancel();
      log.debug("round {}: streamed Aggregate call cancelled: {}", round, why);
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

package org.cloister.site.agent;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.cloister.protocol.v1.FederationGrpc;
import org.cloister.protocol.v1.JoinRequest;
import org.cloister.protocol.v1.JoinResponse;
import org.cloister.protocol.v1.PollTaskRequest;
import org.cloister.protocol.v1.PollTaskResponse;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hospital-side loop: join the study, long-poll for tasks, train locally, send the update,
 * until the coordinator says the study is finished. Retries with exponential backoff while the
 * coordinator is unreachable.
 */
public final class SiteAgent implements Callable<List<SiteRoundRecord>> {
  private static final Logger log = LoggerFactory.getLogger(SiteAgent.class);

  private final FederationGrpc.FederationBlockingStub stub;
  private final String studyId;
  private final LocalTrainer trainer;
  private final UpdateSealer sealer;
  private final org.cloister.site.ledger.SpendSigner signer;
  private final org.cloister.site.ledger.SiteLedger ledger;
  private final Options options;
  private final List<SiteRoundRecord> records = new ArrayList<>();
  private volatile boolean stopped;
  private volatile boolean reconcileDue;
  private final java.util.random.RandomGenerator jitter;
  private final Pause pause;
  /** The pause before polling again after a round sat out; doubles per round sat out in a row, 0 after a sent one. */
  private long satOutBackoff;
  private String lastHandshakeFailure;
  private String siteId = "?";

  /**
   * @param pollWait       how long one long poll may wait on the server
   * @param maxBackoff     the longest pause between retries when the coordinator is unreachable
   * @param giveUpAfter    stop retrying after the coordinator has been unreachable this long
   */
  public record Options(Duration pollWait, Duration maxBackoff, Duration giveUpAfter) {
    public static Options defaults() {
      return new Options(Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofMinutes(5));
    }
  }

  /**
   * @param signer signs each round's privacy spend with the site's certificate key
   * @param ledger the site's durable record of what it has spent (checked before training)
   */
  public SiteAgent(Channel channel, String studyId, LocalTrainer trainer, UpdateSealer sealer,
                   org.cloister.site.ledger.SpendSigner signer, org.cloister.site.ledger.SiteLedger ledger, Options options) {
    this(channel, studyId, trainer, sealer, signer, ledger, options, Thread::sleep, new java.security.SecureRandom());
  }

  /** How the agent waits between retries ({@code Thread::sleep}; a test records the pauses instead). */
  @FunctionalInterface
  public interface Pause {
    void sleep(long millis) throws InterruptedException;
  }

  /**
   * @param pause  how the agent waits before a retry or before polling again after a round it sat out
   * @param jitter the randomness spreading those pauses (a seeded one in tests)
   */
  public SiteAgent(Channel channel, String studyId, LocalTrainer trainer, UpdateSealer sealer,
                   org.cloister.site.ledger.SpendSigner signer, org.cloister.site.ledger.SiteLedger ledger, Options options,
                   Pause pause, java.util.random.RandomGenerator jitter) {
    this.pause = pause;
    this.jitter = jitter;
    this.stub = FederationGrpc.newBlockingStub(channel);
    this.studyId = studyId;
    this.trainer = trainer;
    this.sealer = sealer;
    this.signer = signer;
    this.ledger = ledger;
    this.options = options;
    if (signer != null && signer.siteId() != null) {
      this.siteId = signer.siteId(); // named in what it logs before the coordinator confirms it at join
    }
  }

  private volatile java.util.function.Consumer<SiteRoundRecord> roundListener = r -> { };

  public void stop() {
    stopped = true;
  }

  /** Records of the rounds this site took part in. */
  public synchronized List<SiteRoundRecord> records() {
    return List.copyOf(records);
  }

  @Override
  public List<SiteRoundRecord> call() throws InterruptedException {
    JoinResponse joined = withRetry("join", () -> stub.withDeadlineAfter(30, TimeUnit.SECONDS)
        .join(JoinRequest.newBuilder().setStudyId(studyId).setNumExamples(trainer.numExamples())
            .setAgentVersion("cloister-site/0.1").build()));
    siteId = joined.getSiteId();
    trainer.joined(joined.getModelName(), joined.getModelDimension());
    log.info("site {} joined study {} (model {}, {} parameters, {} rounds)", siteId, studyId,
        joined.getModelName(), joined.getModelDimension(), joined.getTotalRounds());
    reconcileDue = !reconcile(); // spends of earlier rounds the coordinator may lack (e.g. lost in its crash)
    while (!stopped) {
      if (reconcileDue) {
        reconcileDue = !reconcile();
      }
      // a fresh nonce for each poll, drawn after this site's previous round: the enclave's challenge
      // over it may come back with the task
      PollTaskRequest.Builder poll = PollTaskRequest.newBuilder().setStudyId(studyId)
          .setWaitMs((int) options.pollWait().toMillis());
      com.google.protobuf.ByteString nonce = sealer.pollNonce();
      if (nonce != null) {
        poll.setChallengeNonce(nonce);
      }
      PollTaskResponse resp = withRetry("poll", () -> stub
          .withDeadlineAfter(options.pollWait().toMillis() + 30_000, TimeUnit.MILLISECONDS)
          .pollTask(poll.build()));
      switch (resp.getOutcomeCase()) {
        case TASK -> {
          if (handle(resp.getTask(), joined.getModelDimension(),
              new UpdateSealer.Attached(resp.getRoundChallenge(), resp.getSealedModelCopy()))) {
            satOutBackoff = 0;
          } else {
            backOffAfterSatOut(resp.getTask());
          }
        }
        case FINISHED -> {
          if (reconcileDue) {
            reconcile();
          }
          log.info("site {}: study finished after {} rounds ({})", siteId, resp.getFinished().getRoundsCompleted(),
              resp.getFinished().getStatus());
          return records();
        }
        default -> {
          // idle: poll again
        }
      }
    }
    return records();
  }

  /**
   * The coordinator hands the same task out again while its round is open: after a round this site
   * sat out (the enclave's challenge unavailable, the local guard declining, a round already spent)
   * the agent pauses before polling again, with the same jittered exponential backoff as its retries,
   * instead of asking again at once (a hot loop of thousands of polls and warnings per minute).
   */
  /**
   * The longest pause after a round sat out: below the coordinator's default linger after a study ends
   * (5 s), so that a site sitting rounds out still polls while the coordinator can tell it the study
   * finished (with the retry ceiling of 10 s it missed that and retried a stopped coordinator until it
   * gave up).
   */
  public static final long SAT_OUT_MAX_PAUSE_MS = 2_000;

  private void backOffAfterSatOut(RoundTask task) throws InterruptedException {
    satOutBackoff = satOutBackoff == 0 ? 200
        : Math.min(satOutBackoff * 2, Math.min(SAT_OUT_MAX_PAUSE_MS, options.maxBackoff().toMillis()));
    long p = jittered(satOutBackoff, jitter);
    log.info("site {}: round {} sat out; polling again in {} ms", siteId, task.getRound(), p);
    pause.sleep(p);
  }

  /** Final-evaluation tasks this site declined (it says why once, then waits for the study's end quietly). */
  private final java.util.Set<String> declinedFinalEvaluations = new java.util.HashSet<>();

  /**
   * The final evaluation after the last round: opens the final model, scores it on the held-out split (the trainer
   * checks the site's budget first), signs and records the spend, and sends only the noised release.
   */
  private boolean handleFinalEvaluation(RoundTask task, int dimension) {
    if (declinedFinalEvaluations.contains(task.getRoundId())) {
      return false;
    }
    if (System.currentTimeMillis() >= task.getDeadlineUnixMs() || ledger.hasSpent(task.getStudyId(), task.getRoundId())) {
      declinedFinalEvaluations.add(task.getRoundId());
      return false;
    }
    LocalUpdate update;
    try {
      float[] global = sealer.openFinalModel(task, dimension);
      update = trainer.evaluateOnly(global, task);
    } catch (org.cloister.site.training.RoundDeclinedException | org.cloister.site.sealing.SealingException e) {
      log.warn("site {}: final evaluation of model version {} not sent: {}", siteId, task.getModel().getVersion(),
          e.getMessage());
      declinedFinalEvaluations.add(task.getRoundId());
      addRecord(new SiteRoundRecord(task.getRound(), task.getRoundId(), false, e.getMessage(), java.util.Map.of()));
      return false;
    } catch (RuntimeException e) {
      log.error("site {}: final evaluation: the local evaluator failed; the agent stops", siteId, e);
      throw new TrainerFailure("site " + siteId + ", final evaluation: the local evaluator failed ("
          + e.getClass().getSimpleName() + ": " + e.getMessage() + "); the site agent stops", e);
    }
    org.cloister.protocol.v1.SignedSpend spend = signAndRecordSpend(task, update);
    UpdateEnvelope env = envelope(task, update, spend).setEvaluation(update.evaluation()).build();
    log.info("site {}: final evaluation of model version {} sent (epsilon {})", siteId, task.getModel().getVersion(),
        update.epsilonAfter());
    return submit(task, update, env);
  }

  /** Trains for the task and sends the update; false when the site sat the round out. */
  private boolean handle(RoundTask task, int dimension, UpdateSealer.Attached attached) {
    if (task.getFinalEvaluation()) {
      return handleFinalEvaluation(task, dimension);
    }
    if (System.currentTimeMillis() >= task.getDeadlineUnixMs()) {
      log.info("site {}: round {} deadline already passed, skipping", siteId, task.getRound());
      return false;
    }
    if (ledger.hasSpent(task.getStudyId(), task.getRoundId())) {
      // spent already (e.g. this site crashed after recording its spend): never train twice for one round
      log.warn("site {}: round {} already spent according to the local ledger; not training again", siteId, task.getRound());
      return false;
    }
    LocalUpdate update;
    UpdateSealer.Sealed sealed;
    try {
      float[] global = sealer.openGlobalModel(task, dimension, attached);
      update = trainer.train(global, task);
      sealed = sealer.seal(task, update.delta());
    } catch (org.cloister.site.training.RoundDeclinedException | org.cloister.site.sealing.SealingException e) {
      // the local privacy guard refusing to spend more budget, a round the site does not accept, or
      // the enclave's attestation failing verification: the site sits the round out
      log.warn("site {}: round {} not trained: {}", siteId, task.getRound(), e.getMessage());
      addRecord(new SiteRoundRecord(task.getRound(), task.getRoundId(), false, e.getMessage(), java.util.Map.of()));
      return false;
    } catch (RuntimeException e) {
      // anything else is a bug in the trainer (or its data): an error, not a quiet "sat this round out"
      log.error("site {}: round {}: the local trainer failed; the agent stops", siteId, task.getRound(), e);
      throw new TrainerFailure("site " + siteId + ", round " + task.getRound() + ": the local trainer failed ("
          + e.getClass().getSimpleName() + ": " + e.getMessage() + "); the site agent stops", e);
    }
    if (sealed.roundChallenge() != null && !signer.signsContributions()) {
      String why = "the secure aggregator needs a signed contribution statement and this site has no consortium "
          + "certificate to sign it with";
      log.warn("site {}: round {} not sent: {}", siteId, task.getRound(), why);
      addRecord(new SiteRoundRecord(task.getRound(), task.getRoundId(), false, why, java.util.Map.of()));
      return false;
    }
    // privacy is spent when the update leaves the hospital: sign and record it durably first
    org.cloister.protocol.v1.SignedSpend spend = signAndRecordSpend(task, update);
    UpdateEnvelope.Builder env = envelope(task, update, spend)
        .setPayloadFormat(sealed.format())
        .setPayload(com.google.protobuf.UnsafeByteOperations.unsafeWrap(sealed.payload())) // the sealer's own array
        .putAllMetadata(sealed.metadata());
    if (update.evaluation() != null) {
      env.setEvaluation(update.evaluation());
    }
    if (sealed.roundChallenge() != null) {
      // the statement the secure aggregator authenticates the update by (identity and weight come only from it)
      env.setContribution(signer.signContribution(task, update.numExamples(), sealed.format(), sealed.payload(),
          sealed.roundChallenge(), sealed.baseModelSha256(), spend));
    }
    return submit(task, update, env.build());
  }

  /** Signs the update's privacy spend and records it durably in the site's ledger (before anything leaves). */
  private org.cloister.protocol.v1.SignedSpend signAndRecordSpend(RoundTask task, LocalUpdate update) {
    org.cloister.protocol.v1.SignedSpend spend = signer.sign(task, update);
    ledger.record(task.getStudyId(), task.getRoundId(), task.getRound(), signer.datasetId(), update.spent(), update.epsilonAfter(),
        spend.getSpend().toByteArray(), spend.getSignature().toByteArray());
    return spend;
  }

  /** The envelope's fields every update carries: study, round, base version, weight, metrics and the signed spend. */
  private static UpdateEnvelope.Builder envelope(RoundTask task, LocalUpdate update,
                                                 org.cloister.protocol.v1.SignedSpend spend) {
    return UpdateEnvelope.newBuilder()
        .setStudyId(task.getStudyId())
        .setRound(task.getRound())
        .setRoundId(task.getRoundId())
        .setBaseModelVersion(task.getModel().getVersion())
        .setNumExamples(update.numExamples())
        .putAllMetrics(update.metrics())
        .setSpend(spend);
  }

  /** Sends an update (retried until the round's deadline); true once the coordinator has answered. */
  private boolean submit(RoundTask task, LocalUpdate update, UpdateEnvelope env) {
    try {
      // retried while the coordinator is unreachable, until the round's deadline. The retry sends the
      // same envelope: the coordinator acknowledges an identical resubmission (its idempotency key is
      // the round id, the site and the envelope's bytes) and refuses a different one, so an update whose
      // answer was lost is neither counted twice nor reported as refused
      withRetry("submit", () -> stub.withDeadlineAfter(60, TimeUnit.SECONDS).submitUpdate(env), task.getDeadlineUnixMs());
      ledger.acknowledge(task.getStudyId(), List.of(task.getRoundId())); // an accepted update's spend is on record
      addRecord(new SiteRoundRecord(task.getRound(), task.getRoundId(), true, "accepted", update.metrics()));
      return true;
    } catch (StatusRuntimeException e) {
      String why = e.getStatus().getCode() + ": " + e.getStatus().getDescription();
      log.warn("site {}: update for round {} not accepted: {}", siteId, task.getRound(), why);
      addRecord(new SiteRoundRecord(task.getRound(), task.getRoundId(), false, why, update.metrics()));
      reconcileDue = !reconcile(); // make sure the coordinator holds this round's spend all the same
      return true; // sent: the coordinator's answer ends this round for the site
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stopped = true;
      return true;
    }
  }

  /**
   * Hands the coordinator this study's signed spends it has not confirmed holding, and marks
   * those it now holds. Best effort: what is not confirmed is handed over again next time.
   */
  boolean reconcile() {
    java.util.Map<String, org.cloister.protocol.v1.SignedSpend> pending = ledger.unacknowledged(studyId);
    if (pending.isEmpty()) {
      return true;
    }
    try {
      org.cloister.protocol.v1.ReconcileSpendsResponse r = stub.withDeadlineAfter(60, TimeUnit.SECONDS).reconcileSpends(
          org.cloister.protocol.v1.ReconcileSpendsRequest.newBuilder().setStudyId(studyId).addAllSpends(pending.values()).build());
      java.util.Set<String> held = new java.util.HashSet<>(r.getRecordedRoundIdsList());
      List<String> confirmed = pending.keySet().stream().filter(held::contains).toList();
      ledger.acknowledge(studyId, confirmed);
      log.info("site {}: {} of {} unconfirmed privacy spend(s) now on the coordinator's ledger", siteId, confirmed.size(), pending.size());
      for (String refused : r.getRefusedList()) {
        log.warn("site {}: the coordinator refused a privacy spend: {}", siteId, refused);
      }
      return true;
    } catch (StatusRuntimeException e) {
      log.warn("site {}: could not reconcile {} privacy spend(s) with the coordinator ({}); will retry", siteId, pending.size(),
          e.getStatus().getCode());
      return false;
    }
  }

  private synchronized void addRecord(SiteRoundRecord r) {
    records.add(r);
    roundListener.accept(r);
  }

  /** Called with each round's record as the agent makes it (the site service prints a line per round). */
  public void onRound(java.util.function.Consumer<SiteRoundRecord> listener) {
    this.roundListener = java.util.Objects.requireNonNull(listener, "listener");
  }

  /** A bug in the local trainer: the agent stops with it instead of sitting rounds out. */
  public static final class TrainerFailure extends RuntimeException {
    TrainerFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * What a TLS handshake failure with the coordinator means, for the operator: the failure and where to look.
   *
   * @param failure the handshake failure ({@link org.cloister.protocol.tls.MutualTls#handshakeFailure})
   */
  public static String handshakeMessage(String failure) {
    // an alert the coordinator sent is its refusal; this site's own check of the coordinator's chain or name fails
    // with a path / anchor / name problem
    boolean alert = failure.toUpperCase(java.util.Locale.ROOT).contains("ALERT");
    boolean serverUntrusted = !alert && (failure.contains("certification path") || failure.contains("PKIX")
        || failure.contains("trust anchor") || failure.contains("does not chain") || failure.contains("No subject alternative")
        || failure.contains("hostname"));
    return "the TLS handshake with the coordinator failed: " + failure + (serverUntrusted
        ? " (the coordinator's certificate is not from this kit's CA or does not name the address dialled:"
            + " check 'coordinator' and 'tls.trust_root' in site.yaml)"
        : " (the coordinator refused this site's certificate: expired, revoked or issued by another consortium's"
            + " CA; the coordinator's log names the reason)");
  }

  /** The coordinator stayed unreachable or refused this site past the give-up time. */
  public static final class GaveUp extends RuntimeException {
    GaveUp(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * The pause before the next retry: uniform in [backoff/2, backoff] ("equal jitter"), so that sites
   * that lost the coordinator together do not retry in lockstep.
   */
  static long jittered(long backoff, java.util.random.RandomGenerator random) {
    long half = backoff / 2;
    return half + random.nextLong(backoff - half + 1);
  }

  @FunctionalInterface
  private interface Call<T> {
    T run();
  }

  private <T> T withRetry(String what, Call<T> call) throws InterruptedException {
    return withRetry(what, call, Long.MAX_VALUE);
  }

  /** Retries transient failures with exponential backoff until {@code untilMillis} or the give-up time. */
  private <T> T withRetry(String what, Call<T> call, long untilMillis) throws InterruptedException {
    long backoff = 200;
    long started = System.currentTimeMillis();
    while (true) {
      try {
        return call.run();
      } catch (StatusRuntimeException e) {
        Status.Code c = e.getStatus().getCode();
        boolean transientFailure = c == Status.Code.UNAVAILABLE || c == Status.Code.DEADLINE_EXCEEDED;
        long now = System.currentTimeMillis();
        if (transientFailure && !stopped && now - started > options.giveUpAfter().toMillis()
            && untilMillis == Long.MAX_VALUE) {
          String handshake = org.cloister.protocol.tls.MutualTls.handshakeFailure(e);
          throw new GaveUp("gave up on the coordinator after " + (now - started) / 1000 + " s of failed " + what
              + " attempts: " + (handshake != null ? handshakeMessage(handshake) : e.getStatus().getCode()
              + (e.getStatus().getDescription() == null ? "" : " " + e.getStatus().getDescription())), e);
        }
        if (!transientFailure || stopped || now - started > options.giveUpAfter().toMillis() || now + backoff >= untilMillis) {
          throw e;
        }
        String handshake = org.cloister.protocol.tls.MutualTls.handshakeFailure(e);
        if (handshake != null) {
          if (!handshake.equals(lastHandshakeFailure)) {
            log.warn("site {}: {}; retrying with backoff (at most {} s apart), giving up after {} s", siteId,
                handshakeMessage(handshake), options.maxBackoff().toSeconds(), options.giveUpAfter().toSeconds());
            lastHandshakeFailure = handshake;
          }
        } else {
          lastHandshakeFailure = null;
        }
        long pause = jittered(backoff, jitter);
        log.info("site {}: {} failed ({}), retrying in {} ms", siteId, what, c, pause);
        this.pause.sleep(pause);
        backoff = Math.min(backoff * 2, options.maxBackoff().toMillis());
      }
    }
  }
}

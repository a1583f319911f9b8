package org.cloister.coordinator.rounds;

import static org.cloister.coordinator.rounds.RequestRejectedException.Kind.ALREADY_EXISTS;
import static org.cloister.coordinator.rounds.RequestRejectedException.Kind.FAILED_PRECONDITION;
import static org.cloister.coordinator.rounds.RequestRejectedException.Kind.INVALID_ARGUMENT;
import static org.cloister.coordinator.rounds.RequestRejectedException.Kind.NOT_FOUND;
import static org.cloister.coordinator.rounds.RequestRejectedException.Kind.PERMISSION_DENIED;
import static org.cloister.coordinator.rounds.RequestRejectedException.Kind.RESOURCE_EXHAUSTED;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.cloister.coordinator.aggregation.AggregationResult;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.strategy.RoundContext;
import org.cloister.coordinator.strategy.RoundPlan;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.ledger.LedgerRecord;
import org.cloister.coordinator.ledger.SpendVerifier;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.coordinator.strategy.Strategy;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.coordinator.study.StudyStatusKind;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one study's rounds: waits for a quorum of sites, asks the strategy which sites train,
 * collects their updates until every selected site has answered or the deadline passes, hands
 * them to the aggregator and publishes the new model version. Sites that drop or straggle are
 * left out of that round; a round without quorum is retried, then the study pauses.
 *
 * <p>All mutable state is guarded by {@code this}; the engine's own thread drives the rounds and
 * gRPC threads call {@link #pollTask}, {@link #submit} and the read methods.
 */
public final class RoundEngine implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(RoundEngine.class);

  private final StudyConfig config;
  private final Strategy strategy;
  private final Aggregator aggregator;
  private final StudyStore store;
  private final BudgetGuard budgetGuard;
  private final EngineTime clock;
  private final long seed;
  private final List<RoundListener> listeners = new CopyOnWriteArrayList<>();

  private final Map<String, SiteRecord> sites = new TreeMap<>();
  private final Map<Long, ModelArtifact> models = new TreeMap<>();
  private final List<RoundResult> history = new ArrayList<>();
  private ModelArtifact current;
  private StudyStatusKind status = StudyStatusKind.WAITING_FOR_SITES;
  private String statusDetail = "";
  private OpenRound open;
  private volatile boolean stopped;
  private volatile String pauseRequested;   // the operator's reason, until resumed
  private volatile String operatorStop;     // the operator's reason for ending the study
  private volatile boolean holdWhenPaused;  // a paused study waits for resume or stop instead of ending the run

  private record SiteRecord(String siteId, long numExamples, long lastSeenMillis) {
  }

  private static final class OpenRound {
    final int round;
    final int attempt;
    final String roundId;
    final List<String> selected;
    final RoundTask task;
    final long deadlineMillis;
    final Map<String, ReceivedUpdate> received = new LinkedHashMap<>();
    final Map<String, String> excluded = new TreeMap<>();
    final long startedMillis;
    boolean finalEvaluation;

    OpenRound(int round, int attempt, String roundId, List<String> selected, RoundTask task, long deadlineMillis, long startedMillis) {
      this.round = round;
      this.attempt = attempt;
      this.roundId = roundId;
      this.selected = selected;
      this.task = task;
      this.deadlineMillis = deadlineMillis;
      this.startedMillis = startedMillis;
    }
  }

  /**
   * Opens the study in {@code store}: a new study starts from {@code initialModel}; an existing
   * one (a restarted coordinator) resumes after its last committed round.
   */
  public RoundEngine(StudyConfig config, ModelArtifact initialModel, Strategy strategy, Aggregator aggregator,
                     StudyStore store, Clock clock, long seed) {
    this(config, initialModel, strategy, aggregator, store, null, clock, seed);
  }

  /**
   * @param budgets per-site privacy ceilings enforced before each round (null: no enforcement,
   *                e.g. a non-private baseline study)
   */
  public RoundEngine(StudyConfig config, ModelArtifact initialModel, Strategy strategy, Aggregator aggregator,
                     StudyStore store, PrivacyBudgets budgets, Clock clock, long seed) {
    this(config, initialModel, strategy, aggregator, store, budgets, EngineTime.of(clock), seed);
  }

  /**
   * @param time the time deadlines, start grace and join timeouts are measured and waited in
   *             ({@link EngineTime#of} for real time, {@link VirtualTime} in tests)
   */
  public RoundEngine(StudyConfig config, ModelArtifact initialModel, Strategy strategy, Aggregator aggregator,
                     StudyStore store, PrivacyBudgets budgets, EngineTime time, long seed) {
    if (initialModel.getDimension() != config.modelDimension()) {
      throw new IllegalArgumentException("initial model has dimension " + initialModel.getDimension()
          + " but the study declares " + config.modelDimension());
    }
    this.config = config;
    this.strategy = strategy;
    this.aggregator = aggregator;
    this.store = store;
    this.budgetGuard = budgets == null ? null
        : new BudgetGuard(budgets, store, config.studyId(), org.cloister.dp.accounting.rdp.RdpAccountant::new);
    this.clock = time;
    this.seed = seed;
    StudyStore.StudyState state = store.openStudy(config.studyId(), fingerprint(config, strategy), initialModel);
    this.current = state.latestModel();
    this.models.put(current.getVersion(), current);
    this.history.addAll(state.rounds());
    // spends received in a round that never committed (the coordinator stopped mid-round) stay on the ledger
    int inFlight = store.closeInFlightSpends(config.studyId(), "round never committed (the coordinator stopped mid-round);"
        + " the spend still counts");
    if (inFlight > 0) {
      log.warn("study {}: {} privacy spend(s) received in a round that never committed; they stay on the ledger and count",
          config.studyId(), inFlight);
    }
    // restarted sites must poll again before they count as available
    state.sites().forEach((id, n) -> sites.put(id, new SiteRecord(id, n, Long.MIN_VALUE / 2)));
    if ("finished".equals(state.status())) {
      this.status = StudyStatusKind.FINISHED;
      this.statusDetail = state.statusDetail();
    }
  }

  /**
   * SHA-256 over a canonical encoding of the study (its configuration, the training configuration's
   * protobuf bytes and the strategy's spec), so that a database is never resumed with another
   * study's settings. Each field is written with its name and length, so no two studies share an
   * encoding; it does not depend on {@code toString()}.
   */
  static String fingerprint(StudyConfig c, Strategy strategy) {
    try {
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      java.io.DataOutputStream out = new java.io.DataOutputStream(bytes);
      out.writeUTF("cloister-study-fingerprint/v2");
      field(out, "study_id", c.studyId());
      field(out, "model_name", c.modelName());
      field(out, "model_dimension", Integer.toString(c.modelDimension()));
      field(out, "total_rounds", Integer.toString(c.totalRounds()));
      field(out, "min_sites", Integer.toString(c.minSitesPerRound()));
      field(out, "max_sites", Integer.toString(c.maxSitesPerRound()));
      field(out, "round_deadline_ms", Long.toString(c.roundDeadline().toMillis()));
      field(out, "join_timeout_ms", Long.toString(c.joinTimeout().toMillis()));
      field(out, "max_round_attempts", Integer.toString(c.maxRoundAttempts()));
      field(out, "max_update_bytes", Integer.toString(c.maxUpdateBytes()));
      field(out, "expected_sites", Integer.toString(c.expectedSites()));
      field(out, "start_grace_ms", Long.toString(c.startGrace().toMillis()));
      field(out, "privacy_ledger", Boolean.toString(c.privacyLedger()));
      field(out, "strategy", strategy.spec().toString());
      com.google.protobuf.CodedOutputStream training = com.google.protobuf.CodedOutputStream.newInstance(bytes);
      out.writeUTF("training");
      out.writeInt(c.training().getSerializedSize());
      out.flush();
      training.useDeterministicSerialization();
      c.training().writeTo(training);
      training.flush();
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes.toByteArray()));
    } catch (java.io.IOException | java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void field(java.io.DataOutputStream out, String name, String value) throws java.io.IOException {
    out.writeUTF(name);
    byte[] v = value.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    out.writeInt(v.length);
    out.write(v);
  }

  public StudyConfig config() {
    return config;
  }

  /** The budget guard (null when the study enforces no budgets). */
  public BudgetGuard budgetGuard() {
    return budgetGuard;
  }

  public void addListener(RoundListener l) {
    listeners.add(l);
  }

  // ---------------------------------------------------------------- site-facing operations

  /** Registers (or refreshes) a site. */
  public synchronized void join(String siteId, long numExamples) {
    if (numExamples < 1) {
      throw new RequestRejectedException(INVALID_ARGUMENT, "bad_num_examples", "num_examples must be >= 1, got " + numExamples);
    }
    SiteRecord before = sites.get(siteId);
    boolean isNew = before == null;
    if (isNew || before.numExamples != numExamples) {
      store.saveSite(config.studyId(), siteId, numExamples);
    }
    sites.put(siteId, new SiteRecord(siteId, numExamples, clock.millis()));
    if (isNew) {
      log.info("site {} joined study {} ({} sites)", siteId, config.studyId(), sites.size());
      int remaining = config.totalRounds() - completedRounds();
      if (budgetGuard != null && remaining > 0
          && !org.cloister.coordinator.budget.BudgetGuard.spendIndependentOfSiteSize(config.training())) {
        // its spend per round depends on its size: checked now that it is known (the others at start-up)
        int fits = budgetGuard.roundsThatFit(siteId, numExamples, config.training(), remaining);
        if (fits < remaining) {
          log.warn("site {}: its privacy ceiling fits {} of the {} remaining round(s); it is left out after that",
              siteId, fits, remaining);
        }
      }
    }
    notifyAll();
  }

  /** What a polling site gets: a task, nothing yet, or the end of the study. */
  public sealed interface Poll permits Poll.Task, Poll.Idle, Poll.Finished {
    record Task(RoundTask task) implements Poll {
    }

    record Idle(String reason) implements Poll {
    }

    record Finished(int roundsCompleted, long finalModelVersion, String status) implements Poll {
    }
  }

  /** Long poll: waits up to {@code waitMillis} for a task for {@code siteId}. */
  public synchronized Poll pollTask(String siteId, long waitMillis) throws InterruptedException {
    requireJoined(siteId);
    long until = clock.millis() + Math.max(0, waitMillis);
    while (true) {
      touch(siteId);
      if (status == StudyStatusKind.FINISHED || stopped) {
        return new Poll.Finished(completedRounds(), current.getVersion(), status.label());
      }
      if (open != null && open.selected.contains(siteId) && !open.received.containsKey(siteId)
          && clock.millis() < open.deadlineMillis) {
        return new Poll.Task(open.task);
      }
      if (clock.millis() >= until) {
        return new Poll.Idle(status == StudyStatusKind.PAUSED ? "study paused: " + statusDetail : "no task for this site yet");
      }
      clock.awaitUntil(this, until);
    }
  }

  /**
   * Accepts a site's update for the open round after checking it belongs there. When the study
   * keeps a privacy ledger, a genuinely signed spend is recorded durably before this returns or
   * throws, whatever happens to the update (late, wrong round or version, oversized, ...): the
   * site spent that privacy when the update left it.
   *
   * @param certificate the site's verified client certificate (null on the development transport)
   */
  public void submit(String siteId, java.security.cert.X509Certificate certificate, UpdateEnvelope env) {
    // the spend's signature check reads no engine state: done before taking the engine's lock, so that
    // sites' updates are verified in parallel; its outcome is used (or its refusal thrown) at the same
    // point of the checks as before
    Verification verified = null;
    if (config.privacyLedger() && env.hasSpend() && config.studyId().equals(env.getStudyId())) {
      try {
        verified = new Verification(SpendVerifier.verifySigned(siteId, certificate, env.getSpend(), config.studyId()), null);
      } catch (RuntimeException e) {
        verified = new Verification(null, e);
      }
    }
    submitVerified(siteId, certificate, env, verified);
  }

  /** A spend's signature check done outside the lock: its record, or the refusal to throw. */
  private record Verification(LedgerRecord record, RuntimeException refusal) {
    LedgerRecord get() {
      if (refusal != null) {
        throw refusal;
      }
      return record;
    }
  }

  private synchronized void submitVerified(String siteId, java.security.cert.X509Certificate certificate, UpdateEnvelope env,
                                           Verification verified) {
    requireJoined(siteId);
    touch(siteId);
    if (!config.studyId().equals(env.getStudyId())) {
      throw new RequestRejectedException(NOT_FOUND, "unknown_study", "unknown study '" + env.getStudyId() + "'");
    }
    LedgerRecord ledger = null;
    if (config.privacyLedger()) {
      if (!env.hasSpend()) {
        throw new RequestRejectedException(INVALID_ARGUMENT, "bad_spend",
            "update carries no signed privacy spend; this study keeps a privacy ledger");
      }
      ledger = verified != null ? verified.get()
          : SpendVerifier.verifySigned(siteId, certificate, env.getSpend(), config.studyId());
    }
    if (open != null && open.roundId.equals(env.getRoundId()) && open.received.containsKey(siteId)) {
      if (open.received.get(siteId).envelope().equals(env)) {
        // idempotent: the site retried an update whose answer it lost (round id, site and bytes are its
        // key); acknowledged again, stored and counted once, its spend recorded once
        log.info("round {}: identical resubmission from {} acknowledged (counted once)", open.round, siteId);
        return;
      }
      // another update for the same round: its spend is on record already, with the first update's status
      throw new RequestRejectedException(ALREADY_EXISTS, "replayed", "site " + siteId + " already submitted an update for round " + open.round);
    }
    try {
      checkAcceptable(siteId, env, ledger);
    } catch (RequestRejectedException e) {
      if (ledger != null) {
        store.recordSpend(config.studyId(), ledger, "rejected", e.metricReason() + ": " + e.getMessage());
        log.info("round {}: update from {} refused ({}); its privacy spend is recorded", env.getRound(), siteId, e.metricReason());
      }
      throw e;
    }
    if (ledger != null) {
      store.recordSpend(config.studyId(), ledger, "received", "");
    }
    ReceivedUpdate received = new ReceivedUpdate(siteId, env, ledger);
    open.received.put(siteId, received);
    if (open.finalEvaluation) {
      log.info("final evaluation: release from {} accepted ({} of {})", siteId, open.received.size(), open.selected.size());
      notifyAll();
      return;
    }
    aggregator.accepted(open.roundId, open.round, current, received); // does not block
    for (RoundListener l : listeners) {
      l.updateAccepted(siteId, env.getPayload().size());
    }
    log.info("round {}: update from {} accepted ({} of {})", open.round, siteId, open.received.size(), open.selected.size());
    notifyAll();
  }

  private void checkAcceptable(String siteId, UpdateEnvelope env, LedgerRecord ledger) {
    if (open == null || !open.roundId.equals(env.getRoundId()) || open.round != env.getRound()) {
      String replay = history.stream().anyMatch(r -> r.roundId().equals(env.getRoundId())) ? " (already closed)" : "";
      throw new RequestRejectedException(FAILED_PRECONDITION, "wrong_round",
          "round " + env.getRound() + " id " + env.getRoundId() + " is not open" + replay);
    }
    if (!open.selected.contains(siteId)) {
      throw new RequestRejectedException(PERMISSION_DENIED, "not_selected", "site " + siteId + " was not asked to train in round " + open.round);
    }
    if (clock.millis() >= open.deadlineMillis) {
      throw new RequestRejectedException(FAILED_PRECONDITION, "late", "round " + open.round + " deadline has passed");
    }
    if (open.finalEvaluation) {
      checkFinalEvaluation(env, ledger);
      return;
    }
    if (env.getBaseModelVersion() != current.getVersion()) {
      throw new RequestRejectedException(FAILED_PRECONDITION, "wrong_model_version",
          "update is based on model version " + env.getBaseModelVersion() + " but the round trains version " + current.getVersion());
    }
    if (env.getPayload().size() > config.maxUpdateBytes()) {
      throw new RequestRejectedException(RESOURCE_EXHAUSTED, "oversized",
          "update payload of " + env.getPayload().size() + " bytes exceeds the limit of " + config.maxUpdateBytes());
    }
    if (env.getPayload().isEmpty()) {
      throw new RequestRejectedException(INVALID_ARGUMENT, "empty", "update payload is empty");
    }
    if (env.getNumExamples() < 1) {
      throw new RequestRejectedException(INVALID_ARGUMENT, "bad_num_examples", "num_examples must be >= 1");
    }
    if (ledger != null) {
      SpendVerifier.contentProblem(ledger, env).ifPresent(why -> {
        throw new RequestRejectedException(INVALID_ARGUMENT, "bad_spend", why);
      });
    }
    if (env.hasEvaluation()) {
      String why = evaluationProblem(config.training(), env.getEvaluation(), current.getVersion(),
          ledger == null ? null : ledger.spend().getEventJson());
      if (why != null) {
        throw new RequestRejectedException(INVALID_ARGUMENT, "bad_evaluation", why);
      }
    }
  }

  /** The final evaluation's answer: only a release of the final model with its signed spend, no update payload. */
  private void checkFinalEvaluation(UpdateEnvelope env, LedgerRecord ledger) {
    if (!env.getPayload().isEmpty()) {
      throw new RequestRejectedException(INVALID_ARGUMENT, "not_evaluation", "the final evaluation takes no update payload");
    }
    if (!env.hasEvaluation()) {
      throw new RequestRejectedException(INVALID_ARGUMENT, "bad_evaluation", "the final evaluation's answer carries no "
          + "evaluation release");
    }
    if (env.getBaseModelVersion() != current.getVersion()) {
      throw new RequestRejectedException(FAILED_PRECONDITION, "wrong_model_version",
          "the answer names model version " + env.getBaseModelVersion() + " but the final model is " + current.getVersion());
    }
    if (ledger != null) {
      SpendVerifier.contentProblem(ledger, env).ifPresent(why -> {
        throw new RequestRejectedException(INVALID_ARGUMENT, "bad_spend", why);
      });
    }
    String why = evaluationProblem(config.training(), env.getEvaluation(), current.getVersion(),
        ledger == null ? null : ledger.spend().getEventJson());
    if (why != null) {
      throw new RequestRejectedException(INVALID_ARGUMENT, "bad_evaluation", why);
    }
  }

  /**
   * Why a site's evaluation release does not fit the study, or null: the study must ask for evaluation, the layout
   * and model version must be the round's, the noise at least the study's, and (with a ledger) the site's signed
   * event must contain the evaluation's Gaussian event, so that no release the coordinator keeps is unaccounted.
   *
   * @param eventJson the signed spend's event (null without a privacy ledger)
   */
  static String evaluationProblem(org.cloister.protocol.v1.TrainingConfig training,
                                  org.cloister.protocol.v1.EvaluationRelease e, long baseVersion, String eventJson) {
    if (!training.hasEvaluation()) {
      return "the update carries an evaluation release but the study asks for no federated evaluation";
    }
    org.cloister.protocol.v1.EvaluationConfig want = training.getEvaluation();
    if (e.getLayout() != org.cloister.protocol.EvaluationHistograms.LAYOUT || e.getClasses() != want.getClasses()
        || e.getBins() != want.getBins()
        || e.getCountsCount() != org.cloister.protocol.EvaluationHistograms.cells(want.getClasses(), want.getBins())) {
      return "the evaluation release's layout (" + e.getLayout() + ", " + e.getClasses() + " classes, " + e.getBins()
          + " bins, " + e.getCountsCount() + " counts) is not the study's";
    }
    if (e.getModelVersion() != baseVersion) {
      return "the evaluation scores model version " + e.getModelVersion() + ", not the round's " + baseVersion;
    }
    for (double c : e.getCountsList()) {
      if (!Double.isFinite(c)) {
        return "the evaluation release has a non-finite count";
      }
    }
    if (!(e.getNoiseStddev() >= want.getNoiseMultiplier() * (1 - 1e-9))) {
      return "the evaluation's noise standard deviation " + e.getNoiseStddev() + " is below the study's "
          + want.getNoiseMultiplier();
    }
    if (eventJson != null) {
      org.cloister.dp.events.DpEvent ev;
      try {
        ev = org.cloister.dp.events.DpEventJson.fromJson(eventJson);
      } catch (RuntimeException ex) {
        return "the privacy spend's event is unreadable, so the evaluation is not accounted";
      }
      java.util.function.Predicate<org.cloister.dp.events.DpEvent> isEvaluation = x ->
          x instanceof org.cloister.dp.events.GaussianEvent g && g.noiseMultiplier() == want.getNoiseMultiplier();
      // a round's spend is training (+) evaluation; the final evaluation's is the evaluation alone
      boolean accounted = isEvaluation.test(ev)
          || ev instanceof org.cloister.dp.events.ComposedEvent c && c.events().stream().anyMatch(isEvaluation);
      if (!accounted) {
        return "the privacy spend does not contain the evaluation's event {\"type\":\"gaussian\",\"noise_multiplier\":"
            + want.getNoiseMultiplier() + "}: the evaluation would be unaccounted";
      }
    }
    return null;
  }

  /** The sum of the evaluation releases of a round's updates (checked on receipt), or null when none carried one. */
  static RoundEvaluation sumEvaluations(List<ReceivedUpdate> updates) {
    double[] sum = null;
    double variance = 0;
    int sites = 0;
    org.cloister.protocol.v1.EvaluationRelease first = null;
    for (ReceivedUpdate u : updates) {
      if (!u.envelope().hasEvaluation()) {
        continue;
      }
      org.cloister.protocol.v1.EvaluationRelease e = u.envelope().getEvaluation();
      if (first == null) {
        first = e;
        sum = new double[e.getCountsCount()];
      }
      for (int i = 0; i < sum.length; i++) {
        sum[i] += e.getCounts(i);
      }
      variance += e.getNoiseStddev() * e.getNoiseStddev();
      sites++;
    }
    if (first == null) {
      return null;
    }
    return new RoundEvaluation(first.getModelVersion(), first.getClasses(), first.getBins(), sites,
        java.util.Arrays.stream(sum).boxed().toList(), variance);
  }

  /** The outcome of {@link #reconcile}: the round ids of the site's spends now on record, and the refused ones with why. */
  public record Reconciliation(List<String> recordedRoundIds, List<String> refused, int added) {
    public Reconciliation {
      recordedRoundIds = List.copyOf(recordedRoundIds);
      refused = List.copyOf(refused);
    }
  }

  /**
   * Records the signed spends a site hands over that the ledger lacks (e.g. an update lost in a
   * coordinator crash, or refused before it could be recorded): each is verified like an update's
   * spend and recorded with status {@code reconciled}.
   */
  public synchronized Reconciliation reconcile(String siteId, java.security.cert.X509Certificate certificate,
                                               List<org.cloister.protocol.v1.SignedSpend> spends) {
    requireJoined(siteId);
    if (!config.privacyLedger()) {
      throw new RequestRejectedException(FAILED_PRECONDITION, "no_ledger", "study " + config.studyId() + " keeps no privacy ledger");
    }
    if (spends.size() > 100_000) {
      throw new RequestRejectedException(RESOURCE_EXHAUSTED, "too_many_spends", "at most 100000 spends per reconciliation, got " + spends.size());
    }
    List<String> refused = new ArrayList<>();
    int added = 0;
    for (org.cloister.protocol.v1.SignedSpend ss : spends) {
      try {
        LedgerRecord r = SpendVerifier.verifySigned(siteId, certificate, ss, config.studyId());
        if (store.recordSpend(config.studyId(), r, "reconciled", "handed over by the site on reconciliation")) {
          added++;
        }
      } catch (RequestRejectedException e) {
        String roundId;
        try {
          roundId = org.cloister.protocol.v1.PrivacySpend.parseFrom(ss.getSpend()).getRoundId();
        } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
          roundId = "?";
        }
        refused.add(roundId + ": " + e.getMessage());
      }
    }
    List<String> recorded = store.ledger(config.studyId()).stream().filter(e -> e.partyId().equals(siteId))
        .map(StudyStore.LedgerEntry::roundId).toList();
    if (added > 0 || !refused.isEmpty()) {
      log.warn("site {}: reconciliation recorded {} privacy spend(s) the ledger lacked, refused {}", siteId, added, refused.size());
    }
    return new Reconciliation(recorded, refused, added);
  }

  // ---------------------------------------------------------------- read side

  public synchronized Optional<ModelArtifact> model(long version) {
    if (version == 0) {
      return Optional.of(current);
    }
    ModelArtifact m = models.get(version);
    return m != null ? Optional.of(m) : store.model(config.studyId(), version);
  }

  public synchronized StudyStatusKind status() {
    return status;
  }

  public synchronized String statusDetail() {
    return statusDetail;
  }

  public synchronized List<RoundResult> history() {
    return List.copyOf(history);
  }

  public synchronized int currentRound() {
    return open != null && !open.finalEvaluation ? open.round : completedRounds();
  }

  public synchronized Map<String, Long> siteExamples() {
    Map<String, Long> m = new TreeMap<>();
    sites.values().forEach(s -> m.put(s.siteId, s.numExamples));
    return m;
  }

  private int completedRounds() {
    return (int) history.stream().filter(RoundResult::quorumMet).count();
  }

  // ---------------------------------------------------------------- the round loop

  /** Stops the study at the next opportunity; polling sites are told it finished. */
  public synchronized void stop() {
    stopped = true;
    notifyAll();
  }

  /** Blocks until the study has finished or paused, or the timeout passes. */
  public synchronized boolean awaitEnd(Duration timeout) throws InterruptedException {
    long until = System.currentTimeMillis() + timeout.toMillis();
    while (status != StudyStatusKind.FINISHED && status != StudyStatusKind.PAUSED) {
      long left = until - System.currentTimeMillis();
      if (left <= 0) {
        return false;
      }
      wait(left);
    }
    return true;
  }

  @Override
  public void run() {
    if (status() == StudyStatusKind.FINISHED) {
      finish();
      return;
    }
    try {
      while (true) {
        boolean paused = false;
        for (int round = completedRounds() + 1; round <= config.totalRounds() && !stopped; round++) {
          if (!runRound(round)) {
            paused = true;
            break;
          }
        }
        if (operatorStop != null) {
          finish("stopped by the operator after " + completedRounds() + " rounds: " + operatorStop);
          return;
        }
        if (!paused) {
          finalEvaluation();
          if (operatorStop != null) {
            finish("stopped by the operator after " + completedRounds() + " rounds: " + operatorStop);
            return;
          }
          finish();
          return;
        }
        if (!awaitResume()) {
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      setStatus(StudyStatusKind.PAUSED, "interrupted");
    } catch (RuntimeException e) {
      log.error("study {} failed in the round engine", config.studyId(), e);
      setStatus(StudyStatusKind.PAUSED, "internal error: " + e.getClass().getSimpleName());
      throw e;
    }
  }

  /**
   * A paused study held by its operator: waits for {@link #resume} (true: run the remaining rounds) or
   * {@link #stopByOperator} (false). Without {@link #holdWhenPaused} (no operator can resume it), false at once.
   */
  private boolean awaitResume() throws InterruptedException {
    synchronized (this) {
      if (!holdWhenPaused && pauseRequested == null) {
        return false;
      }
      log.info("study {} paused ({}): waiting for the operator to resume or stop it", config.studyId(), statusDetail);
      while (status == StudyStatusKind.PAUSED && !stopped) {
        wait(1000);
      }
    }
    if (operatorStop != null) {
      finish("stopped by the operator after " + completedRounds() + " rounds: " + operatorStop);
      return false;
    }
    return !stopped;
  }

  // ---------------------------------------------------------------- operator actions

  /**
   * Keep a paused study (quorum or budget) waiting for the operator's {@link #resume} or {@link #stopByOperator}
   * instead of ending the run; set by a service with an operator API.
   */
  public void holdWhenPaused(boolean hold) {
    this.holdWhenPaused = hold;
  }

  /** Pauses the study before its next round (an open round completes first). */
  public synchronized void pause(String reason) {
    if (status == StudyStatusKind.FINISHED) {
      throw new IllegalStateException("study " + config.studyId() + " has finished: " + statusDetail);
    }
    pauseRequested = reason == null || reason.isBlank() ? "no reason given" : reason;
    if (open == null) {
      setStatus(StudyStatusKind.PAUSED, "paused by the operator: " + pauseRequested);
    } else {
      statusDetail = "round " + open.round + ", pausing after it: " + pauseRequested;
    }
    notifyAll();
  }

  /** Resumes a paused study (paused by the operator, or on quorum or budget: the round is tried again). */
  public synchronized void resume() {
    if (status != StudyStatusKind.PAUSED && pauseRequested == null) {
      throw new IllegalStateException("study " + config.studyId() + " is " + status.label() + ", not paused");
    }
    if (!holdWhenPaused) {
      throw new IllegalStateException("study " + config.studyId() + " is not held for an operator: restart the "
          + "coordinator to resume it");
    }
    pauseRequested = null;
    status = StudyStatusKind.RUNNING;
    statusDetail = "resumed by the operator";
    store.saveStatus(config.studyId(), "running", statusDetail);
    log.info("study {} resumed by the operator", config.studyId());
    notifyAll();
  }

  /** Ends the study for good after the open round (if any); sites are told it finished. */
  public synchronized void stopByOperator(String reason) {
    if (status == StudyStatusKind.FINISHED) {
      throw new IllegalStateException("study " + config.studyId() + " has already finished: " + statusDetail);
    }
    operatorStop = reason == null || reason.isBlank() ? "no reason given" : reason;
    if (status == StudyStatusKind.PAUSED && !holdWhenPaused && pauseRequested == null) {
      finish("stopped by the operator after " + completedRounds() + " rounds: " + operatorStop);
    }
    stopped = true;
    notifyAll();
  }

  private synchronized void finish() {
    finish(completedRounds() + " rounds completed");
  }

  private synchronized void finish(String detail) {
    if (status == StudyStatusKind.FINISHED && detail.equals(statusDetail)) {
      return;
    }
    status = StudyStatusKind.FINISHED;
    statusDetail = detail;
    store.saveStatus(config.studyId(), "finished", statusDetail);
    notifyAll();
    for (RoundListener l : listeners) {
      l.studyFinished(status.label());
    }
  }

  private synchronized void setStatus(StudyStatusKind s, String detail) {
    status = s;
    statusDetail = detail;
    notifyAll();
    if (s == StudyStatusKind.PAUSED) {
      log.warn("study {} paused: {}", config.studyId(), detail);
      store.saveStatus(config.studyId(), "paused", detail);
    }
  }

  /** Runs one round with retries; false when the study paused. */
  private boolean runRound(int round) throws InterruptedException {
    for (int attempt = 1; attempt <= config.maxRoundAttempts() && !stopped; attempt++) {
      if (pauseRequested != null) {
        setStatus(StudyStatusKind.PAUSED, "paused by the operator before round " + round + ": " + pauseRequested);
        return false;
      }
      List<String> eligible = awaitEligibleSites();
      if (pauseRequested != null && !stopped) {
        setStatus(StudyStatusKind.PAUSED, "paused by the operator before round " + round + ": " + pauseRequested);
        return false;
      }
      if (eligible == null && stopped) {
        return false; // stopped by the operator while waiting for sites: not a pause
      }
      if (eligible == null) {
        setStatus(StudyStatusKind.PAUSED, "round " + round + ": only " + eligibleSites().size() + " of "
            + config.minSitesPerRound() + " required sites available after " + config.joinTimeout().toSeconds() + " s");
        return false;
      }
      Map<String, String> excluded = new TreeMap<>();
      if (budgetGuard != null) {
        Map<String, Long> all = siteExamples();
        Map<String, Long> examples = new LinkedHashMap<>();
        eligible.forEach(site -> examples.put(site, all.get(site)));
        excluded.putAll(budgetGuard.refusals(examples, config.training())); // the ledger read once per round
        eligible = eligible.stream().filter(s -> !excluded.containsKey(s)).toList();
        if (!excluded.isEmpty()) {
          log.info("round {}: {} site(s) not asked: {}", round, excluded.size(), excluded);
        }
        if (eligible.size() < config.minSitesPerRound()) {
          RoundResult none = new RoundResult(round, "none", attempt, List.of(), List.of(), Map.of(), current.getVersion(),
              false, Map.of(), 0, excluded);
          synchronized (this) {
            history.add(none);
          }
          for (RoundListener l : listeners) {
            l.roundCompleted(none);
          }
          setStatus(StudyStatusKind.PAUSED, "round " + round + ": only " + eligible.size() + " site(s) within their privacy"
              + " budget, quorum is " + config.minSitesPerRound() + " " + excluded);
          return false;
        }
      }
      RoundPlan plan = strategy.configureRound(new RoundContext(round, attempt, config.totalRounds(), eligible,
          config.minSitesPerRound(), config.maxSitesPerRound(), config.training(), seed));
      OpenRound r = openRound(round, attempt, plan);
      r.excluded.putAll(excluded);
      for (RoundListener l : listeners) {
        l.roundOpened(r.task, r.selected);
      }
      List<ReceivedUpdate> updates = collect(r);
      RoundResult result = close(r, updates);
      for (RoundListener l : listeners) {
        l.roundCompleted(result);
      }
      if (result.quorumMet()) {
        return true;
      }
      log.warn("round {} attempt {}: quorum not met ({} valid of {} required)", round, attempt,
          result.aggregated().size(), config.minSitesPerRound());
    }
    if (!stopped) {
      setStatus(StudyStatusKind.PAUSED, "round " + round + ": quorum of " + config.minSitesPerRound()
          + " not met after " + config.maxRoundAttempts() + " attempts");
    }
    return false;
  }

  /**
   * After the last round, with federated evaluation: the available sites score the final model on their held-out
   * split (no training). Each site's evaluation event is checked against its ceiling by the budget guard first; a
   * site it would overrun is not asked, and the status names it. The answers are summed like a round's and kept as
   * the study's last record ({@link RoundResult#finalEvaluation()}), their spends in the ledger. Run once: a restarted
   * coordinator whose store holds the record does not run it again.
   */
  private void finalEvaluation() throws InterruptedException {
    List<String> eligible;
    synchronized (this) {
      if (!config.training().hasEvaluation() || completedRounds() == 0 || stopped
          || history.stream().anyMatch(RoundResult::finalEvaluation)) {
        return;
      }
      eligible = eligibleSites();
    }
    Map<String, String> excluded = new TreeMap<>();
    if (budgetGuard != null) {
      excluded.putAll(budgetGuard.finalEvaluationRefusals(new java.util.LinkedHashSet<>(eligible), config.training()));
      eligible = eligible.stream().filter(s -> !excluded.containsKey(s)).toList();
      excluded.forEach((site, why) -> log.warn("final evaluation: site {} not asked: {}", site, why));
    }
    OpenRound r;
    synchronized (this) {
      long now = clock.millis();
      String roundId = RoundResult.FINAL_EVALUATION_PREFIX + UUID.randomUUID();
      long deadline = now + config.roundDeadline().toMillis();
      RoundTask task = RoundTask.newBuilder().setStudyId(config.studyId()).setRound(config.totalRounds() + 1)
          .setRoundId(roundId).setDeadlineUnixMs(deadline).setModel(current).setConfig(config.training())
          .setFinalEvaluation(true).build();
      r = new OpenRound(config.totalRounds() + 1, 1, roundId, eligible, task, deadline, now);
      r.finalEvaluation = true;
      r.excluded.putAll(excluded);
      status = StudyStatusKind.RUNNING;
      statusDetail = "final evaluation of model version " + current.getVersion();
      if (!eligible.isEmpty()) {
        open = r;
        log.info("final evaluation of model version {} opened for {} sites, deadline in {} ms", current.getVersion(),
            eligible.size(), config.roundDeadline().toMillis());
      }
      notifyAll();
    }
    List<ReceivedUpdate> updates = eligible.isEmpty() ? List.of() : collect(r);
    Map<String, String> rejected = new LinkedHashMap<>();
    for (String s : r.selected) {
      if (updates.stream().noneMatch(u -> u.siteId().equals(s))) {
        rejected.put(s, "no evaluation before the deadline (a site without a held-out split, or over its own budget,"
            + " sends none; its log says why)");
      }
    }
    RoundResult result;
    synchronized (this) {
      Map<String, Map<String, Double>> metrics = new TreeMap<>();
      updates.forEach(u -> metrics.put(u.siteId(), Map.copyOf(u.envelope().getMetricsMap())));
      result = new RoundResult(r.round, r.roundId, 1, r.selected, List.of(), rejected, current.getVersion(), false,
          metrics, clock.millis() - r.startedMillis, r.excluded, sumEvaluations(updates));
      store.commitRound(config.studyId(), result, null,
          updates.stream().map(ReceivedUpdate::ledger).filter(java.util.Objects::nonNull).toList(), null);
      history.add(result);
      notifyAll();
    }
    log.info("final evaluation of model version {}: {} of {} site(s) answered{}", current.getVersion(), updates.size(),
        r.selected.size(), excluded.isEmpty() ? "" : ", " + excluded.size() + " not asked (privacy budget)");
    for (RoundListener l : listeners) {
      l.finalEvaluationCompleted(result);
    }
  }

  private synchronized List<String> eligibleSites() {
    long horizon = clock.millis() - (config.roundDeadline().toMillis() + 30_000);
    List<String> out = new ArrayList<>();
    for (SiteRecord s : sites.values()) {
      if (s.lastSeenMillis >= horizon) {
        out.add(s.siteId);
      }
    }
    return out;
  }

  private synchronized List<String> awaitEligibleSites() throws InterruptedException {
    long until = clock.millis() + config.joinTimeout().toMillis();
    long quorumSince = -1;
    while (!stopped && pauseRequested == null) {
      List<String> e = eligibleSites();
      if (e.size() >= config.minSitesPerRound()) {
        if (quorumSince < 0) {
          quorumSince = clock.millis();
        }
        boolean allExpected = config.expectedSites() == 0 || e.size() >= config.expectedSites();
        if (allExpected || clock.millis() - quorumSince >= config.startGrace().toMillis()) {
          return e;
        }
      } else {
        quorumSince = -1;
        status = StudyStatusKind.WAITING_FOR_SITES;
        statusDetail = e.size() + " of " + config.minSitesPerRound() + " sites";
      }
      if (clock.millis() >= until) {
        return e.size() >= config.minSitesPerRound() ? e : null;
      }
      // woken by joins and polls (notifyAll), by stop(), and when the grace or the join timeout ends
      clock.awaitUntil(this, quorumSince < 0 ? until : Math.min(until, quorumSince + config.startGrace().toMillis()));
    }
    return null;
  }

  private synchronized OpenRound openRound(int round, int attempt, RoundPlan plan) {
    long now = clock.millis();
    String roundId = UUID.randomUUID().toString();
    long deadline = now + config.roundDeadline().toMillis();
    RoundTask task = RoundTask.newBuilder()
        .setStudyId(config.studyId())
        .setRound(round)
        .setRoundId(roundId)
        .setDeadlineUnixMs(deadline)
        .setModel(current)
        .setConfig(plan.config())
        .build();
    open = new OpenRound(round, attempt, roundId, plan.sites(), task, deadline, now);
    status = StudyStatusKind.RUNNING;
    statusDetail = "round " + round;
    log.info("round {} (attempt {}) opened for {} sites, deadline in {} ms", round, attempt, plan.sites().size(),
        config.roundDeadline().toMillis());
    notifyAll();
    return open;
  }

  private synchronized List<ReceivedUpdate> collect(OpenRound r) throws InterruptedException {
    while (!stopped && r.received.size() < r.selected.size()) {
      if (clock.millis() >= r.deadlineMillis) {
        break;
      }
      clock.awaitUntil(this, r.deadlineMillis);
    }
    open = null; // no more updates accepted for this round
    notifyAll();
    // a fixed order (by site) so that aggregation does not depend on arrival order
    List<ReceivedUpdate> updates = new ArrayList<>(r.received.values());
    updates.sort(java.util.Comparator.comparing(ReceivedUpdate::siteId));
    return updates;
  }

  private RoundResult close(OpenRound r, List<ReceivedUpdate> updates) {
    Map<String, String> rejected = new LinkedHashMap<>();
    java.util.Set<String> received = new java.util.HashSet<>();
    updates.forEach(u -> received.add(u.siteId())); // a set: a scan of the updates per selected site was O(sites^2)
    for (String s : r.selected) {
      if (!received.contains(s)) {
        rejected.put(s, "no update before the deadline");
      }
    }
    AggregationResult agg;
    if (updates.size() >= config.minSitesPerRound()) {
      ModelArtifact base;
      synchronized (this) {
        base = current;
      }
      agg = aggregator.aggregate(r.roundId, r.round, base, updates); // outside the lock: may be slow
    } else {
      aggregator.abandoned(r.roundId);
      agg = new AggregationResult(null, List.of(), Map.of());
    }
    rejected.putAll(agg.rejected());
    boolean quorum = agg.model() != null && agg.aggregated().size() >= config.minSitesPerRound();
    Map<String, Map<String, Double>> metrics = new TreeMap<>();
    for (ReceivedUpdate u : updates) {
      metrics.put(u.siteId(), Map.copyOf(u.envelope().getMetricsMap()));
    }
    synchronized (this) {
      long version = quorum ? agg.model().getVersion() : current.getVersion();
      RoundResult result = new RoundResult(r.round, r.roundId, r.attempt, r.selected, quorum ? agg.aggregated() : List.of(),
          rejected, version, quorum, metrics, clock.millis() - r.startedMillis, r.excluded, sumEvaluations(updates));
      // durable first: a crash after this line resumes after this round, a crash before it re-runs it
      // every update that left a site spent privacy, aggregated or not: all go into the ledger
      List<LedgerRecord> spends = updates.stream().map(ReceivedUpdate::ledger).filter(java.util.Objects::nonNull).toList();
      store.commitRound(config.studyId(), result, quorum ? agg.model() : null, spends,
          quorum && agg.receipt() != null ? agg.receipt().toByteArray() : null);
      if (quorum) {
        current = agg.model();
        models.put(current.getVersion(), current);
        if (models.size() > 8) {
          models.remove(models.keySet().iterator().next()); // older versions are read from the store
        }
      }
      history.add(result);
      notifyAll();
      return result;
    }
  }

  private void requireJoined(String siteId) {
    if (!sites.containsKey(siteId)) {
      throw new RequestRejectedException(FAILED_PRECONDITION, "not_joined", "site " + siteId + " has not joined the study");
    }
  }

  private void touch(String siteId) {
    SiteRecord s = sites.get(siteId);
    long now = clock.millis();
    sites.put(siteId, new SiteRecord(siteId, s.numExamples, now));
    if (s.lastSeenMillis < now - (config.roundDeadline().toMillis() + 30_000)) {
      notifyAll(); // the site is available again: the engine may be waiting for it
    }
  }
}

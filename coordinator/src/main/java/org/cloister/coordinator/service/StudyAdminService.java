package org.cloister.coordinator.service;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.protocol.v1.ControlStudyRequest;
import org.cloister.protocol.v1.ListStudiesRequest;
import org.cloister.protocol.v1.ListStudiesResponse;
import org.cloister.protocol.v1.OperatorSiteState;
import org.cloister.protocol.v1.StudyAdminGrpc;
import org.cloister.protocol.v1.OperatorStudyStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's API: the study's status and pause / resume / stop. Only callers whose certificate common name is
 * one of {@code operators} (and no rostered site) get an answer; everyone else is PERMISSION_DENIED, and with no
 * operators configured nobody is (fails closed).
 */
public final class StudyAdminService extends StudyAdminGrpc.StudyAdminImplBase {
  private static final Logger log = LoggerFactory.getLogger(StudyAdminService.class);
  private final RoundEngine engine;
  private final List<String> roster;
  private final Set<String> operators;
  private final PrivacyBudgets budgets;
  private final HandshakeRefusals refusals;

  /**
   * @param budgets  the sites' ceilings (null: no budget enforced)
   * @param refusals certificates refused at the handshake (for the sites that never joined)
   */
  public StudyAdminService(RoundEngine engine, List<String> roster, Set<String> operators, PrivacyBudgets budgets,
                           HandshakeRefusals refusals) {
    for (String op : operators) {
      if (roster.contains(op)) {
        throw new IllegalArgumentException("operator '" + op + "' is also a site on the roster: an operator "
            + "certificate must not be a site's");
      }
    }
    this.engine = engine;
    this.roster = List.copyOf(roster);
    this.operators = Set.copyOf(operators);
    this.budgets = budgets;
    this.refusals = refusals;
  }

  private boolean authorized(StreamObserver<?> out) {
    String who = SiteIdentity.current();
    if (operators.isEmpty() || who == null || !operators.contains(who) || roster.contains(who)) {
      log.warn("refused an operator call from '{}': not an operator of this coordinator", who);
      out.onError(Status.PERMISSION_DENIED.withDescription("'" + who + "' is not an operator of this coordinator "
          + "(coordinator.yaml admin.operators)").asRuntimeException());
      return false;
    }
    return true;
  }

  @Override
  public void listStudies(ListStudiesRequest req, StreamObserver<ListStudiesResponse> out) {
    if (!authorized(out)) {
      return;
    }
    out.onNext(ListStudiesResponse.newBuilder().addStudies(status()).build());
    out.onCompleted();
  }

  @Override
  public void controlStudy(ControlStudyRequest req, StreamObserver<OperatorStudyStatus> out) {
    if (!authorized(out)) {
      return;
    }
    if (!engine.config().studyId().equals(req.getStudyId())) {
      out.onError(Status.NOT_FOUND.withDescription("this coordinator runs study '" + engine.config().studyId()
          + "', not '" + req.getStudyId() + "'").asRuntimeException());
      return;
    }
    try {
      switch (req.getAction()) {
        case PAUSE -> engine.pause(req.getReason());
        case RESUME -> engine.resume();
        case STOP -> engine.stopByOperator(req.getReason());
        default -> {
          out.onError(Status.INVALID_ARGUMENT.withDescription("action must be PAUSE, RESUME or STOP").asRuntimeException());
          return;
        }
      }
    } catch (IllegalStateException e) {
      out.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    log.info("operator {}: {} study {} ({})", SiteIdentity.current(), req.getAction(), req.getStudyId(),
        req.getReason().isBlank() ? "no reason given" : req.getReason());
    out.onNext(status());
    out.onCompleted();
  }

  /** "no federated evaluation", or the study's evaluation mechanism. */
  public static String evaluationLabel(org.cloister.protocol.v1.TrainingConfig training) {
    if (!training.hasEvaluation()) {
      return "no federated evaluation";
    }
    org.cloister.protocol.v1.EvaluationConfig e = training.getEvaluation();
    return "federated evaluation on each site's held-out split: Gaussian noise multiplier " + e.getNoiseMultiplier()
        + (e.getClasses() == 2 ? ", " + e.getBins() + " score bins per class" : ", confusion matrix of " + e.getClasses()
        + " classes") + " (in each site's spend)";
  }

  /** The study's status as the operator sees it. */
  public OperatorStudyStatus status() {
    List<RoundResult> history = engine.history();
    int completed = (int) history.stream().filter(RoundResult::quorumMet).count();
    OperatorStudyStatus.Builder b = OperatorStudyStatus.newBuilder().setStudyId(engine.config().studyId())
        .setStatus(engine.status().label()).setDetail(engine.statusDetail()).setCurrentRound(engine.currentRound())
        .setCompletedRounds(completed).setTotalRounds(engine.config().totalRounds()).setBudgetsEnforced(budgets != null);
    Map<String, Long> joined = engine.siteExamples();
    Set<String> all = new LinkedHashSet<>(roster);
    all.addAll(joined.keySet());
    Map<String, String> refused = new java.util.TreeMap<>();
    refusals.refusals().forEach((subject, why) -> refused.put(subject.replaceAll("^CN=([^,( ]+).*", "$1"), why));
    BudgetGuard guard = engine.budgetGuard();
    for (String site : all) {
      OperatorSiteState.Builder s = OperatorSiteState.newBuilder().setSiteId(site).setJoined(joined.containsKey(site))
          .setRefused(refused.getOrDefault(site, ""));
      if (guard != null && budgets != null) {
        PrivacyBudgets.Ceiling c = budgets.ceilingOf(site);
        s.setEpsilonSpent(guard.epsilon(site, guard.spent(site))).setEpsilonCeiling(c.epsilon()).setDelta(c.delta());
      }
      b.addSites(s);
    }
    org.cloister.protocol.v1.TrainingConfig training = engine.config().training();
    b.setEvaluation(evaluationLabel(training));
    for (RoundResult r : history) {
      if (r.evaluation() != null) {
        org.cloister.protocol.EvaluationHistograms.Metrics m = r.evaluation().metrics(r.round());
        b.addEvaluations(org.cloister.protocol.v1.RoundEvaluation.newBuilder().setRound(r.round())
            .setModelVersion(r.evaluation().modelVersion()).setSites(r.evaluation().sites()).setExamples(m.examples())
            .setAccuracy(m.accuracy()).setAccuracySe(m.accuracySe()).setAuc(m.auc()).setAucSe(m.aucSe())
            .setFinalEvaluation(r.finalEvaluation()));
      }
      if (r.finalEvaluation()) {
        b.putAllFinalEvaluationSkipped(r.excluded());
        b.putAllFinalEvaluationSkipped(r.rejected());
      }
    }
    return b.build();
  }
}

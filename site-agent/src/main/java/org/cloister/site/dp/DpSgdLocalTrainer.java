package org.cloister.site.dp;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.cloister.data.Dataset;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.DpEvent;
import org.cloister.models.Parameters;
import org.cloister.protocol.DpSchedule;
import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.training.ClippingStats;
import org.cloister.site.training.DpSgd;
import org.cloister.site.training.DpSgdTrainer;
import org.cloister.site.training.PrivacyBudget;
import org.cloister.site.training.TrainingReport;
import org.deeplearning4j.nn.api.Model;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A site's round of DP-SGD: the schedule (q, steps) follows {@link DpSchedule} from the round's
 * configuration, the accountant starts from everything the site's own ledger says it has already
 * spent, and the site's budget guard stops training before the ceiling. A site configured with a
 * budget trains only privately: a task asking for non-private training is refused.
 *
 * <p>Clipping statistics are kept locally ({@link #lastClipping()}); only epsilon and the number
 * of steps go to the coordinator with the update.
 */
public final class DpSgdLocalTrainer implements LocalTrainer {
  private static final Logger log = LoggerFactory.getLogger(DpSgdLocalTrainer.class);

  private final Model net;
  private final Dataset data;
  private final RandomGenerator noise;
  private final PrivacyBudget budget;
  private final Supplier<List<DpEvent>> alreadySpent;
  private final RandomGenerator sampling;
  private final boolean countPrivate;
  private final org.cloister.site.evaluation.HoldoutEvaluator evaluator;
  private DpEvent pendingPreprocessing;
  private volatile ClippingStats lastClipping = ClippingStats.EMPTY;
  private volatile double lastEpsilon = 0;

  /**
   * @param noise        uniform bits of the DP noise (dp-accounting's {@code SecureGaussianNoise})
   * @param alreadySpent the site's spend history (from its durable ledger), read at every round
   * @param sampling     randomness of the Poisson sampling ({@code SecureRandom} in deployments)
   */
  public DpSgdLocalTrainer(Model net, Dataset data, RandomGenerator noise, PrivacyBudget budget,
                           Supplier<List<DpEvent>> alreadySpent, RandomGenerator sampling) {
    this(net, data, noise, budget, alreadySpent, sampling, null, false);
  }

  /**
   * @param preprocessing the site's private preprocessing release ({@code null} when the study's
   *                      preprocessing is public): spent with, and composed into, the first round's event
   * @param countPrivate  release nothing that depends on the record count: weight 1, no step count,
   *                      q and steps fixed by the study, the noisy sum divided by the study's batch size
   */
  public DpSgdLocalTrainer(Model net, Dataset data, RandomGenerator noise, PrivacyBudget budget,
                           Supplier<List<DpEvent>> alreadySpent, RandomGenerator sampling, DpEvent preprocessing,
                           boolean countPrivate) {
    this(net, data, noise, budget, alreadySpent, sampling, preprocessing, countPrivate, null);
  }

  /**
   * @param data      the training split only: DP-SGD samples from these rows and its sampling rate is over them
   * @param evaluator the site's held-out split ({@code null}: no held-out split, the site does not evaluate): when a
   *                  round asks for federated evaluation, the round's base model is scored on it and the noised
   *                  counts go with the update; their Gaussian event is composed into the accountant before the
   *                  first step (the budget guard counts it) and into the round's spend
   */
  public DpSgdLocalTrainer(Model net, Dataset data, RandomGenerator noise, PrivacyBudget budget,
                           Supplier<List<DpEvent>> alreadySpent, RandomGenerator sampling, DpEvent preprocessing,
                           boolean countPrivate, org.cloister.site.evaluation.HoldoutEvaluator evaluator) {
    this.evaluator = evaluator;
    this.pendingPreprocessing = preprocessing;
    this.countPrivate = countPrivate;
    this.net = net;
    this.data = data;
    this.noise = noise;
    this.budget = budget;
    this.alreadySpent = alreadySpent;
    this.sampling = sampling;
  }

  @Override
  public long numExamples() {
    return countPrivate ? 1 : data.size();
  }

  /** Clipping statistics of the last round (local only: they are not noised). */
  public ClippingStats lastClipping() {
    return lastClipping;
  }

  /** The site's cumulative epsilon after its last round, at its budget's delta. */
  public double lastEpsilon() {
    return lastEpsilon;
  }

  /**
   * The final evaluation: the final model scored on the held-out split, its Gaussian event checked against the
   * site's budget (the same ceiling and reserved delta as DP-SGD's guard) before anything is computed from the data,
   * and composed into the signed spend (with a pending private-preprocessing event, if the site never trained).
   */
  @Override
  public LocalUpdate evaluateOnly(float[] globalWeights, RoundTask task) {
    TrainingConfig cfg = task.getConfig();
    if (!cfg.hasEvaluation()) {
      throw new org.cloister.site.training.RoundDeclinedException("round " + task.getRound() + " asks for a final "
          + "evaluation but the study declares no federated evaluation");
    }
    if (evaluator == null) {
      throw new org.cloister.site.training.RoundDeclinedException("this site has no held-out split "
          + "(evaluation.holdout_fraction in site.yaml): it does not evaluate");
    }
    String problem = evaluator.problem(cfg.getEvaluation());
    if (problem != null) {
      throw new org.cloister.site.training.RoundDeclinedException("final evaluation: " + problem);
    }
    RdpAccountant accountant = new RdpAccountant();
    for (DpEvent e : alreadySpent.get()) {
      accountant.compose(e, 1);
    }
    DpEvent preprocessing = pendingPreprocessing;
    List<DpEvent> parts = new java.util.ArrayList<>();
    if (preprocessing != null) {
      parts.add(preprocessing);
    }
    parts.add(org.cloister.site.evaluation.HoldoutEvaluator.event(cfg.getEvaluation()));
    DpEvent spent = parts.size() == 1 ? parts.get(0) : new org.cloister.dp.events.ComposedEvent(parts);
    double epsilonAfter;
    if (budget != null) {
      org.cloister.site.training.PrivacyBudget enforced = budget.epsilon() <= DpSgd.MAX_GRID_EPSILON ? budget
          : new org.cloister.site.training.PrivacyBudget(DpSgd.MAX_GRID_EPSILON, budget.delta());
      org.cloister.site.training.PrivacyGuard guard = new org.cloister.site.training.PrivacyGuard(enforced, accountant,
          org.cloister.dp.noise.GridGaussian.discretisationDelta(Parameters.get(net).length,
              org.cloister.site.training.PrivacyGuard.RESERVED_STEPS, enforced.epsilon()));
      epsilonAfter = guard.epsilonAfter(spent, 1);
      if (!guard.allows(spent)) {
        throw new org.cloister.site.training.RoundDeclinedException(String.format(java.util.Locale.ROOT,
            "privacy budget: the final evaluation would take epsilon to %.4f, over the ceiling %.4f (delta %.1e);"
                + " nothing released", epsilonAfter, enforced.epsilon(), enforced.delta()));
      }
    } else {
      accountant.compose(spent, 1);
      epsilonAfter = accountant.epsilon(1e-5);
    }
    Parameters.set(net, globalWeights);
    org.cloister.protocol.v1.EvaluationRelease evaluated = evaluator.release(net, cfg.getEvaluation(),
        task.getModel().getVersion());
    pendingPreprocessing = null;
    lastEpsilon = epsilonAfter;
    log.info("final evaluation of model version {} (noise multiplier {}), epsilon {}", task.getModel().getVersion(),
        cfg.getEvaluation().getNoiseMultiplier(), epsilonAfter);
    return new LocalUpdate(new float[0], numExamples(), Map.of("epsilon", epsilonAfter), spent, epsilonAfter, evaluated);
  }

  @Override
  public LocalUpdate train(float[] globalWeights, RoundTask task) {
    TrainingConfig cfg = task.getConfig();
    DpConfig dp = cfg.getDp();
    if (!dp.getEnabled()) {
      throw new org.cloister.site.training.RoundDeclinedException("this site trains only with DP-SGD, but round " + task.getRound()
          + " asks for non-private training");
    }
    if (!(dp.getNoiseMultiplier() > 0) || !(dp.getClipNorm() > 0)) {
      throw new org.cloister.site.training.RoundDeclinedException("round " + task.getRound() + " has noise multiplier " + dp.getNoiseMultiplier()
          + " and clip norm " + dp.getClipNorm() + ": both must be > 0");
    }
    if (countPrivate != dp.getCountPrivate()) {
      throw new org.cloister.site.training.RoundDeclinedException("this site is " + (countPrivate ? "" : "not ") + "count-private but round "
          + task.getRound() + (dp.getCountPrivate() ? " is" : " is not") + ": the study and the site must agree");
    }
    DpSchedule schedule = DpSchedule.of(cfg, data.size());
    if (schedule.steps() > Integer.MAX_VALUE) {
      throw new org.cloister.site.training.RoundDeclinedException("round " + task.getRound() + " asks for " + schedule.steps() + " steps");
    }
    RdpAccountant accountant = new RdpAccountant();
    for (DpEvent e : alreadySpent.get()) {
      accountant.compose(e, 1);
    }
    DpEvent preprocessing = pendingPreprocessing;
    if (preprocessing != null) {
      accountant.compose(preprocessing, 1); // the budget guard sees it before the first step
    }
    Parameters.set(net, globalWeights);
    DpEvent evaluation = null;
    org.cloister.protocol.v1.EvaluationRelease evaluated = null;
    if (cfg.hasEvaluation() && evaluator != null) {
      String problem = evaluator.problem(cfg.getEvaluation());
      if (problem != null) {
        throw new org.cloister.site.training.RoundDeclinedException("round " + task.getRound() + ": " + problem);
      }
      evaluation = org.cloister.site.evaluation.HoldoutEvaluator.event(cfg.getEvaluation());
      accountant.compose(evaluation, 1); // the budget guard counts the evaluation before the first step
      // the base model, scored before any training step; released only if the update leaves
      evaluated = evaluator.release(net, cfg.getEvaluation(), task.getModel().getVersion());
    }
    if (cfg.getLearningRate() > 0) {
      org.cloister.models.Networks.setLearningRate(net, cfg.getLearningRate());
    }
    DpSgd.Builder builder = DpSgd.builder()
        .clipNorm(dp.getClipNorm())
        .noiseMultiplier(dp.getNoiseMultiplier())
        .samplingRate(schedule.samplingRate())
        .noise(noise)
        .accountant(accountant)
        .budget(budget)
        .proximalMu(cfg.getProximalMu());
    if (countPrivate) {
      builder.expectedBatchSize(Math.max(1, cfg.getBatchSize()));
    }
    DpSgdTrainer trainer = builder.build(net);
    TrainingReport report = trainer.train(data, (int) schedule.steps(), sampling);
    if (report.stepsTaken() == 0) {
      throw new org.cloister.site.training.RoundDeclinedException("privacy budget: " + report.stopReason().orElse("no step fits the remaining budget"));
    }
    lastClipping = report.clipping();
    lastEpsilon = report.epsilonSpent();
    log.info("round {}: {} DP-SGD steps (q={}, sigma={}, C={}){}, epsilon {} at delta {}", task.getRound(), report.stepsTaken(),
        schedule.samplingRate(), dp.getNoiseMultiplier(), dp.getClipNorm(), evaluation == null ? ""
            : " and a federated evaluation of model version " + task.getModel().getVersion() + " (noise multiplier "
            + cfg.getEvaluation().getNoiseMultiplier() + ")", report.epsilonSpent(), report.delta());
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("epsilon", report.epsilonSpent());
    if (!countPrivate) {
      metrics.put("steps", (double) report.stepsTaken());
    }
    DpEvent spent = report.roundEvent();
    if (preprocessing != null || evaluation != null) {
      List<DpEvent> parts = new java.util.ArrayList<>();
      if (preprocessing != null) {
        parts.add(preprocessing);
      }
      parts.add(spent);
      if (evaluation != null) {
        parts.add(evaluation); // training ⊕ evaluation: one event, one signed ledger entry
      }
      spent = new org.cloister.dp.events.ComposedEvent(parts);
      pendingPreprocessing = null;
    }
    return new LocalUpdate(Parameters.subtract(Parameters.get(net), globalWeights), numExamples(), metrics,
        spent, report.epsilonSpent(), evaluated);
  }
}

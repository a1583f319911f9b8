package org.cloister.coordinator.budget;

import com.google.protobuf.InvalidProtocolBufferException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.DpEventJson;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.NonPrivateEvent;
import org.cloister.dp.events.PoissonSampledEvent;
import org.cloister.dp.events.SelfComposedEvent;
import org.cloister.protocol.DpSchedule;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.protocol.v1.TrainingConfig;

/**
 * The coordinator's side of budget enforcement: before a round, a site's projected spend is its
 * ledger history plus this round's planned event, interpreted by an accountant; a site whose
 * projection exceeds its ceiling is not asked. (The site's own guard refuses too: this is the
 * consortium's check, not the only one.)
 */
public final class BudgetGuard {
  private final PrivacyBudgets budgets;
  private final StudyStore store;
  private final String studyId;
  private final Supplier<PrivacyAccountant> accountants;

  public BudgetGuard(PrivacyBudgets budgets, StudyStore store, String studyId, Supplier<PrivacyAccountant> accountants) {
    this.budgets = budgets;
    this.store = store;
    this.studyId = studyId;
    this.accountants = accountants;
  }

  /**
   * The event one round with {@code cfg} spends at a site with {@code examples} (training) examples: its local
   * training, composed with its federated evaluation when the study has one (counted for every site, whether or
   * not it holds a held-out split: the projection may only over-count).
   */
  public static DpEvent plannedEvent(TrainingConfig cfg, long examples) {
    if (!cfg.getDp().getEnabled()) {
      return new NonPrivateEvent();
    }
    DpSchedule s = DpSchedule.of(cfg, examples);
    DpEvent training = new SelfComposedEvent(new PoissonSampledEvent(s.samplingRate(),
        new GaussianEvent(cfg.getDp().getNoiseMultiplier())), s.steps());
    if (!cfg.hasEvaluation()) {
      return training;
    }
    double z = cfg.getEvaluation().getNoiseMultiplier();
    if (!(z > 0) || Double.isInfinite(z)) {
      return new NonPrivateEvent(); // evaluation without noise: unbounded, never nothing
    }
    return new org.cloister.dp.events.ComposedEvent(List.of(training, new GaussianEvent(z)));
  }

  /**
   * The events {@code siteId} has spent, from the ledger: every signed spend the coordinator
   * received in this study, whether or not its update was aggregated, and, once the site's spends
   * name their dataset, its spends on that dataset in the other studies of this database (a budget
   * belongs to the dataset). Before the site's first spend in this study its dataset is unknown
   * here; the site's own guard, which always knows it, still counts every study.
   */
  public List<DpEvent> spent(String siteId) {
    return spent(java.util.Set.of(siteId)).getOrDefault(siteId, List.of());
  }

  /**
   * {@link #spent(String)} for many sites, reading the ledger once (a study with thousands of sites
   * checks all of them before every round).
   */
  public Map<String, List<DpEvent>> spent(java.util.Set<String> siteIds) {
    Map<String, List<DpEvent>> out = new java.util.HashMap<>();
    Map<String, String> datasets = new java.util.HashMap<>();
    for (StudyStore.LedgerEntry e : store.ledger(studyId)) {
      if (siteIds.contains(e.partyId())) {
        PrivacySpend p = parse(e);
        out.computeIfAbsent(e.partyId(), k -> new ArrayList<>()).add(event(p));
        if (!p.getDatasetId().isEmpty()) {
          datasets.put(e.partyId(), p.getDatasetId());
        }
      }
    }
    if (!datasets.isEmpty()) {
      for (String other : store.studies()) {
        if (other.equals(studyId)) {
          continue;
        }
        for (StudyStore.LedgerEntry e : store.ledger(other)) {
          String dataset = datasets.get(e.partyId());
          if (dataset != null) {
            PrivacySpend p = parse(e);
            if (p.getDatasetId().equals(dataset)) {
              out.computeIfAbsent(e.partyId(), k -> new ArrayList<>()).add(event(p));
            }
          }
        }
      }
    }
    return out;
  }

  private static PrivacySpend parse(StudyStore.LedgerEntry e) {
    try {
      return PrivacySpend.parseFrom(e.spend());
    } catch (InvalidProtocolBufferException ex) {
      throw new IllegalStateException("ledger entry " + e.seq() + " is unreadable", ex);
    }
  }

  /**
   * The event a signed spend declares. A genuinely signed spend whose event cannot be read still
   * released something: it counts as unbounded (a {@link NonPrivateEvent}), never as nothing.
   */
  public static DpEvent event(PrivacySpend spend) {
    try {
      return DpEventJson.fromJson(spend.getEventJson());
    } catch (RuntimeException e) {
      return new NonPrivateEvent();
    }
  }

  /** Epsilon at the site's ceiling delta after {@code events}. */
  public double epsilon(String siteId, List<DpEvent> events) {
    PrivacyAccountant a = accountants.get();
    for (DpEvent e : events) {
      if (e instanceof NonPrivateEvent) {
        return Double.POSITIVE_INFINITY;
      }
      a.compose(e, 1);
    }
    return a.epsilon(budgets.ceilingOf(siteId).delta());
  }

  /** Why {@code siteId} may not take part in the next round, or empty when it may. */
  public Optional<String> refusal(String siteId, long examples, TrainingConfig cfg) {
    return refusal(siteId, examples, cfg, spent(siteId));
  }

  /** {@link #refusal} for every site in {@code examples} (site to its example count), the ledger read once. */
  public Map<String, String> refusals(Map<String, Long> examples, TrainingConfig cfg) {
    Map<String, List<DpEvent>> spent = spent(examples.keySet());
    Map<String, String> out = new java.util.TreeMap<>();
    examples.forEach((site, n) -> refusal(site, n, cfg, spent.getOrDefault(site, List.of())).ifPresent(why -> out.put(site, why)));
    return out;
  }

  private Optional<String> refusal(String siteId, long examples, TrainingConfig cfg, List<DpEvent> spent) {
    List<DpEvent> events = new ArrayList<>(spent);
    events.add(plannedEvent(cfg, examples));
    double projected = epsilon(siteId, events);
    PrivacyBudgets.Ceiling c = budgets.ceilingOf(siteId);
    if (projected > c.epsilon()) {
      return Optional.of(String.format(Locale.ROOT, "budget: projected epsilon %.3f%s would exceed the ceiling %.3f (delta %.1e)",
          projected, cfg.hasEvaluation() ? " (training and federated evaluation)" : "", c.epsilon(), c.delta()));
    }
    return Optional.empty();
  }

  /**
   * The event of the final evaluation after the study's last round (the final model scored on each site's held-out
   * split, no training): the evaluation's Gaussian event; null when the study has no federated evaluation.
   */
  public static DpEvent finalEvaluationEvent(TrainingConfig cfg) {
    if (!cfg.hasEvaluation()) {
      return null;
    }
    double z = cfg.getEvaluation().getNoiseMultiplier();
    return !(z > 0) || Double.isInfinite(z) ? new NonPrivateEvent() : new GaussianEvent(z);
  }

  /**
   * Why each of {@code sites} may not take part in the final evaluation (its ledger history plus the evaluation's
   * event would exceed its ceiling), the ledger read once; empty for a study without federated evaluation.
   */
  public Map<String, String> finalEvaluationRefusals(java.util.Set<String> sites, TrainingConfig cfg) {
    DpEvent event = finalEvaluationEvent(cfg);
    Map<String, String> out = new java.util.TreeMap<>();
    if (event == null) {
      return out;
    }
    Map<String, List<DpEvent>> spent = spent(sites);
    for (String site : sites) {
      List<DpEvent> events = new ArrayList<>(spent.getOrDefault(site, List.of()));
      events.add(event);
      double projected = epsilon(site, events);
      PrivacyBudgets.Ceiling c = budgets.ceilingOf(site);
      if (projected > c.epsilon()) {
        out.put(site, String.format(Locale.ROOT, "budget: the final evaluation would take the projected epsilon to %.3f,"
            + " over the ceiling %.3f (delta %.1e)", projected, c.epsilon(), c.delta()));
      }
    }
    return out;
  }

  /**
   * How many of {@code upTo} further rounds fit {@code siteId}'s ceiling if it trains in each (its ledger history
   * plus k planned rounds), the same projection {@link #refusal} makes before each round.
   */
  public int roundsThatFit(String siteId, long examples, TrainingConfig cfg, int upTo) {
    List<DpEvent> spent = spent(siteId);
    DpEvent planned = plannedEvent(cfg, examples);
    double ceiling = budgets.ceilingOf(siteId).epsilon();
    // epsilon only grows with k: the largest k in [0, upTo] that fits, by bisection (a study of 10^6
    // rounds takes about 20 projections, each composing the planned round k times at once)
    int fits = 0;
    int over = upTo + 1;
    while (over - fits > 1) {
      int k = fits + (over - fits) / 2;
      if (projected(siteId, spent, planned, k) > ceiling) {
        over = k;
      } else {
        fits = k;
      }
    }
    return fits;
  }

  /** Epsilon at the site's ceiling delta after {@code spent}, {@code k} rounds of {@code planned} and {@code then}. */
  private double projected(String siteId, List<DpEvent> spent, DpEvent planned, int k, DpEvent... then) {
    if (planned instanceof NonPrivateEvent || spent.stream().anyMatch(e -> e instanceof NonPrivateEvent)
        || java.util.Arrays.stream(then).anyMatch(e -> e instanceof NonPrivateEvent)) {
      return Double.POSITIVE_INFINITY;
    }
    PrivacyAccountant a = accountants.get();
    for (DpEvent e : spent) {
      a.compose(e, 1);
    }
    if (k > 0) {
      a.compose(planned, k);
    }
    for (DpEvent e : then) {
      a.compose(e, 1);
    }
    return a.epsilon(budgets.ceilingOf(siteId).delta());
  }

  /** Whether a round's spend is known before a site joins: fixed sampling rate and step count (or no DP). */
  public static boolean spendIndependentOfSiteSize(TrainingConfig cfg) {
    return !cfg.getDp().getEnabled() || (cfg.getDp().getSamplingRate() > 0 && cfg.getLocalSteps() > 0);
  }

  /**
   * The start-up check that the remaining rounds fit the sites' ceilings: per site, how many fit; the study is
   * refused ({@link Plan#refusal}) when, with every available site training every round, fewer than
   * {@code quorum} sites could take part in some remaining round (the study would pause there).
   *
   * @param examples  each site's example count (what it declared when it joined; any positive value for a study
   *                  whose spend does not depend on it, {@link #spendIndependentOfSiteSize})
   * @param unknownSites rostered sites whose spend per round is not known yet (counted as fitting every round)
   * @param remaining rounds still to run
   */
  public Plan plan(Map<String, Long> examples, int unknownSites, TrainingConfig cfg, int remaining, int quorum,
                   int completed) {
    Map<String, Integer> fits = new java.util.TreeMap<>();
    examples.forEach((site, n) -> fits.put(site, roundsThatFit(site, n, cfg, remaining)));
    List<String> lines = new ArrayList<>();
    fits.forEach((site, k) -> {
      if (k < remaining) {
        lines.add(String.format(Locale.ROOT, "site %s: its ceiling epsilon %.3f (delta %.1e) fits %d of the %d remaining"
            + " round(s); it is left out after that", site, budgets.ceilingOf(site).epsilon(),
            budgets.ceilingOf(site).delta(), k, remaining));
      }
    });
    DpEvent finalEvaluation = finalEvaluationEvent(cfg);
    if (finalEvaluation != null && remaining > 0) {
      examples.forEach((site, n) -> {
        if (fits.get(site) == remaining) {
          double after = projected(site, spent(site), plannedEvent(cfg, n), remaining, finalEvaluation);
          if (after > budgets.ceilingOf(site).epsilon()) {
            lines.add(String.format(Locale.ROOT, "site %s: after the %d remaining round(s) its ceiling epsilon %.3f"
                + " leaves no room for the final evaluation (projected epsilon %.3f): the final model is not scored"
                + " there", site, remaining, budgets.ceilingOf(site).epsilon(), after));
          }
        }
      });
    }
    String refusal = null;
    for (int r = 1; r <= remaining; r++) {
      final int round = r;
      long able = fits.values().stream().filter(k -> k >= round).count() + unknownSites;
      if (able < quorum) {
        refusal = String.format(Locale.ROOT, "the planned rounds do not fit the sites' privacy ceilings: round %d would"
            + " have only %d site(s) within budget, quorum is %d (%s); plan fewer rounds (at most %d), more noise, or"
            + " ask the sites for larger ceilings", completed + round, able, quorum, String.join("; ", lines),
            completed + round - 1);
        break;
      }
    }
    return new Plan(fits, lines, refusal);
  }

  /**
   * @param fits    per site, how many of the remaining rounds fit its ceiling
   * @param lines   one line per site that does not fit every remaining round
   * @param refusal why the study cannot run its remaining rounds, or null when it can
   */
  public record Plan(Map<String, Integer> fits, List<String> lines, String refusal) {
  }
}

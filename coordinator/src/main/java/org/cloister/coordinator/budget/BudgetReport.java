package org.cloister.coordinator.budget;

import com.google.protobuf.InvalidProtocolBufferException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.NonPrivateEvent;
import org.cloister.protocol.v1.PrivacySpend;

/**
 * Per-site privacy spend of a study, recomputed by an accountant from the signed ledger (every
 * spend the coordinator received or was handed on reconciliation, whatever happened to its
 * update), against each site's ceiling, with the rounds in which a site was left out and why. The
 * site's own signed figure stands beside the recomputation, never instead of it, and any
 * difference between the two is flagged. Lifetime spend per dataset adds up every study in the
 * database that spent on the same dataset.
 */
public final class BudgetReport {
  /** Relative tolerance when comparing the site's own figure with the RDP recomputation. */
  static final double TOLERANCE = 1e-6;

  /** One ledger entry as the report sees it. */
  public record Point(int round, String roundId, String eventJson, double epsilon, double reportedEpsilon, String status) {
  }

  /**
   * One site's line.
   *
   * @param reportedEpsilon  the site's own signed figure (its last spend's epsilon_after: cumulative on its dataset)
   * @param datasetId        the dataset the site's spends name ("" when they name none)
   * @param lifetimeEpsilon  recomputed over every spend on that dataset in every study of the database
   * @param byStatus         how many of the site's spends ended how (aggregated, rejected, reconciled, received)
   * @param discrepancy      why the site's own figure and the recomputation differ, or null
   */
  public record SiteBudget(String siteId, double delta, Double ceiling, double epsilon, double reportedEpsilon,
                           List<Point> history, Map<Integer, String> leftOut, String datasetId, double lifetimeEpsilon,
                           int lifetimeStudies, Map<String, Integer> byStatus, String discrepancy) {
    public SiteBudget {
      history = List.copyOf(history);
      leftOut = Map.copyOf(leftOut);
      byStatus = Map.copyOf(byStatus);
    }

    public Double remaining() {
      return ceiling == null ? null : ceiling - epsilon;
    }
  }

  /**
   * One verification the report ran before reporting (the ledger's; signed aggregation receipts
   * add theirs here): a report whose checks are not all valid is INVALID.
   */
  public record Check(String name, boolean valid, String summary, List<String> problems) {
    public Check {
      problems = List.copyOf(problems);
    }
  }

  private BudgetReport() {
  }

  private record Spent(String study, PrivacySpend spend) {
  }

  /**
   * @param budgets     ceilings (null when unknown: the report then shows spend only)
   * @param accountants the accountant the figures are computed with (RDP or PLD); the comparison with
   *                    the sites' own (RDP) figures always uses RDP
   */
  public static List<SiteBudget> compute(StudyStore store, String studyId, List<RoundResult> rounds, PrivacyBudgets budgets,
                                         Supplier<PrivacyAccountant> accountants) {
    Map<String, List<PrivacySpend>> bySite = new TreeMap<>();
    for (StudyStore.LedgerEntry e : store.ledger(studyId)) {
      bySite.computeIfAbsent(e.partyId(), k -> new ArrayList<>()).add(parse(e));
    }
    // every spend on each (site, dataset) in every study of this database: lifetime per dataset
    Map<String, List<Spent>> byDataset = new TreeMap<>();
    for (String s : store.studies()) {
      for (StudyStore.LedgerEntry e : store.ledger(s)) {
        PrivacySpend p = parse(e);
        byDataset.computeIfAbsent(e.partyId() + "\0" + p.getDatasetId(), k -> new ArrayList<>()).add(new Spent(s, p));
      }
    }
    Map<String, StudyStore.SpendStatus> statuses = store.spendStatuses(studyId);
    Map<String, Map<Integer, String>> leftOut = new TreeMap<>();
    for (RoundResult r : rounds) {
      r.excluded().forEach((site, why) -> leftOut.computeIfAbsent(site, k -> new TreeMap<>()).put(r.round(), why));
      r.rejected().forEach((site, why) -> leftOut.computeIfAbsent(site, k -> new TreeMap<>()).put(r.round(), why));
    }
    List<SiteBudget> out = new ArrayList<>();
    java.util.Set<String> sites = new java.util.TreeSet<>(bySite.keySet());
    sites.addAll(leftOut.keySet());
    for (String site : sites) {
      List<PrivacySpend> spends = bySite.getOrDefault(site, List.of());
      double delta = budgets != null ? budgets.ceilingOf(site).delta() : spends.isEmpty() ? 1e-5 : spends.get(0).getDelta();
      PrivacyAccountant acc = accountants.get();
      boolean nonPrivate = false;
      List<Point> history = new ArrayList<>();
      Map<String, Integer> byStatus = new TreeMap<>();
      double eps = 0;
      double reported = 0;
      for (PrivacySpend s : spends) {
        DpEvent ev = BudgetGuard.event(s);
        if (ev instanceof NonPrivateEvent) {
          nonPrivate = true;
        } else {
          acc.compose(ev, 1);
        }
        eps = nonPrivate ? Double.POSITIVE_INFINITY : acc.epsilon(delta);
        reported = Math.max(reported, s.getEpsilonAfter());
        StudyStore.SpendStatus st = statuses.get(site + "/" + s.getRoundId());
        String status = st == null ? "unknown" : st.status();
        byStatus.merge(status, 1, Integer::sum);
        history.add(new Point(s.getRound(), s.getRoundId(), s.getEventJson(), eps, s.getEpsilonAfter(),
            st == null || st.reason().isEmpty() ? status : status + ": " + st.reason()));
      }
      String dataset = spends.isEmpty() ? "" : spends.get(spends.size() - 1).getDatasetId();
      List<Spent> lifetime = byDataset.getOrDefault(site + "\0" + dataset, List.of());
      double lifetimeEps = epsilon(lifetime, accountants.get(), delta);
      int lifetimeStudies = (int) lifetime.stream().map(Spent::study).distinct().count();
      String discrepancy = spends.isEmpty() ? null : discrepancy(reported, epsilon(lifetime, new RdpAccountant(),
          spends.get(spends.size() - 1).getDelta()));
      Double ceiling = budgets == null ? null : budgets.ceilingOf(site).epsilon();
      out.add(new SiteBudget(site, delta, ceiling, eps, reported, history, leftOut.getOrDefault(site, Map.of()), dataset,
          lifetimeEps, lifetimeStudies, byStatus, discrepancy));
    }
    return out;
  }

  /**
   * The entry's spend; one that does not parse (an edited row: `ledger verify` names it, and the report is INVALID)
   * counts as unbounded, never as nothing: an event that does not read is non-private ({@link BudgetGuard#event}),
   * and the site's own figure is unknown, so infinite.
   */
  private static PrivacySpend parse(StudyStore.LedgerEntry e) {
    try {
      return PrivacySpend.parseFrom(e.spend());
    } catch (InvalidProtocolBufferException ex) {
      return PrivacySpend.newBuilder().setPartyId(e.partyId()).setRound(e.round()).setRoundId(e.roundId())
          .setEventJson("unreadable ledger entry " + e.seq()).setEpsilonAfter(Double.POSITIVE_INFINITY).build();
    }
  }

  private static double epsilon(List<Spent> spends, PrivacyAccountant acc, double delta) {
    for (Spent s : spends) {
      DpEvent ev = BudgetGuard.event(s.spend());
      if (ev instanceof NonPrivateEvent) {
        return Double.POSITIVE_INFINITY;
      }
      acc.compose(ev, 1);
    }
    return spends.isEmpty() ? 0 : acc.epsilon(delta);
  }

  /** Compares the site's own signed figure with the RDP recomputation of what this database holds on its dataset. */
  static String discrepancy(double reported, double recomputed) {
    if (Double.isInfinite(recomputed) && Double.isInfinite(reported)) {
      return null;
    }
    double scale = Math.max(1e-12, Math.max(Math.abs(reported), Math.abs(recomputed)));
    if (Double.isFinite(reported) && Double.isFinite(recomputed) && Math.abs(reported - recomputed) <= TOLERANCE * scale) {
      return null;
    }
    if (reported > recomputed) {
      return String.format(Locale.ROOT, "the site's own signed figure %.4f exceeds the %.4f its spends in this database add up to:"
          + " spends are missing from this ledger (or were made in studies on another coordinator)", reported, recomputed);
    }
    return String.format(Locale.ROOT, "the site's own signed figure %.4f is below the %.4f its signed spends add up to:"
        + " the site under-reports", reported, recomputed);
  }

  /** A JSON-friendly view. */
  public static List<Map<String, Object>> toMaps(List<SiteBudget> sites) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (SiteBudget s : sites) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("site", s.siteId());
      m.put("epsilon", finite(s.epsilon()));
      m.put("delta", s.delta());
      m.put("ceiling", s.ceiling());
      m.put("remaining", s.remaining() == null ? null : finite(s.remaining()));
      m.put("reported_epsilon", finite(s.reportedEpsilon()));
      m.put("dataset", s.datasetId());
      m.put("lifetime_epsilon", finite(s.lifetimeEpsilon()));
      m.put("lifetime_studies", s.lifetimeStudies());
      m.put("discrepancy", s.discrepancy());
      m.put("spends_by_status", s.byStatus());
      m.put("rounds", s.history().size());
      m.put("evaluation_releases", evaluationReleases(s));
      m.put("final_evaluation_releases", finalEvaluationReleases(s));
      List<Map<String, Object>> h = new ArrayList<>();
      for (Point p : s.history()) {
        Map<String, Object> pm = new LinkedHashMap<>();
        pm.put("round", p.round());
        pm.put("epsilon", finite(p.epsilon()));
        pm.put("reported_epsilon", finite(p.reportedEpsilon()));
        pm.put("status", p.status());
        pm.put("event", p.eventJson());
        h.add(pm);
      }
      m.put("history", h);
      Map<String, String> lo = new LinkedHashMap<>();
      s.leftOut().forEach((r, why) -> lo.put(String.valueOf(r), why));
      m.put("left_out", lo);
      out.add(m);
    }
    return out;
  }

  /**
   * How many of the site's spends include a federated-evaluation release: a composed event whose last part is a
   * Gaussian event following the round's training (the layout the site agent signs; private preprocessing comes
   * first). They are counted in epsilon like every other event; this only says which spends had one.
   */
  public static int evaluationReleases(SiteBudget s) {
    int n = 0;
    for (Point p : s.history()) {
      try {
        org.cloister.dp.events.DpEvent e = org.cloister.dp.events.DpEventJson.fromJson(p.eventJson());
        if (isFinalEvaluation(e) || e instanceof org.cloister.dp.events.ComposedEvent c
            && c.events().size() >= 2 && c.events().get(c.events().size() - 1) instanceof org.cloister.dp.events.GaussianEvent
            && !(c.events().get(c.events().size() - 2) instanceof org.cloister.dp.events.GaussianEvent)) {
          n++;
        }
      } catch (RuntimeException e) {
        // an unreadable event counts as unbounded in epsilon; it is no evaluation release here
      }
    }
    return n;
  }

  /**
   * How many of the site's spends are a final evaluation alone (after the study's last round: the final model scored
   * on the held-out split, no training): a single Gaussian event, or private preprocessing then one (a site that never
   * trained). Included in {@link #evaluationReleases}; counted in epsilon like every other event.
   */
  public static int finalEvaluationReleases(SiteBudget s) {
    int n = 0;
    for (Point p : s.history()) {
      try {
        if (isFinalEvaluation(org.cloister.dp.events.DpEventJson.fromJson(p.eventJson()))) {
          n++;
        }
      } catch (RuntimeException e) {
        // unreadable: no evaluation release here (it counts as unbounded in epsilon)
      }
    }
    return n;
  }

  private static boolean isFinalEvaluation(org.cloister.dp.events.DpEvent e) {
    return e instanceof org.cloister.dp.events.GaussianEvent || e instanceof org.cloister.dp.events.ComposedEvent c
        && c.events().size() == 2 && c.events().get(1) instanceof org.cloister.dp.events.GaussianEvent
        && !(c.events().get(0) instanceof org.cloister.dp.events.SelfComposedEvent);
  }

  /** JSON has no infinity: a non-private spend is reported as the string "Infinity". */
  private static Object finite(double v) {
    return Double.isFinite(v) ? v : (Object) String.valueOf(v);
  }
}

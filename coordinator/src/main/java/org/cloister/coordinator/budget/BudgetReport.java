package org.cloister.coordinator.budget;

import com.google.protobuf.InvalidProtocolBufferException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.events.DpEventJson;
import org.cloister.dp.events.NonPrivateEvent;
import org.cloister.protocol.v1.PrivacySpend;

/**
 * Per-site privacy spend of a study, recomputed by an accountant from the signed ledger (the
 * sites' own epsilon figures are shown beside it, not trusted), against each site's ceiling,
 * with the rounds in which a site was left out and why.
 */
public final class BudgetReport {

  /** One ledger entry as the report sees it. */
  public record Point(int round, String roundId, String eventJson, double epsilon, double reportedEpsilon) {
  }

  /** One site's line. */
  public record SiteBudget(String siteId, double delta, Double ceiling, double epsilon, double reportedEpsilon,
                           List<Point> history, Map<Integer, String> leftOut) {
    public SiteBudget {
      history = List.copyOf(history);
      leftOut = Map.copyOf(leftOut);
    }

    public Double remaining() {
      return ceiling == null ? null : ceiling - epsilon;
    }
  }

  private BudgetReport() {
  }

  /**
   * @param budgets ceilings (null when unknown: the report then shows spend only)
   */
  public static List<SiteBudget> compute(StudyStore store, String studyId, List<RoundResult> rounds, PrivacyBudgets budgets,
                                         Supplier<PrivacyAccountant> accountants) {
    Map<String, List<PrivacySpend>> bySite = new TreeMap<>();
    for (StudyStore.LedgerEntry e : store.ledger(studyId)) {
      try {
        bySite.computeIfAbsent(e.partyId(), k -> new ArrayList<>()).add(PrivacySpend.parseFrom(e.spend()));
      } catch (InvalidProtocolBufferException ex) {
        throw new IllegalStateException("ledger entry " + e.seq() + " is unreadable: run `cloister ledger verify`", ex);
      }
    }
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
      double eps = 0;
      double reported = 0;
      for (PrivacySpend s : spends) {
        var ev = DpEventJson.fromJson(s.getEventJson());
        if (ev instanceof NonPrivateEvent) {
          nonPrivate = true;
        } else {
          acc.compose(ev, 1);
        }
        eps = nonPrivate ? Double.POSITIVE_INFINITY : acc.epsilon(delta);
        reported = s.getEpsilonAfter();
        history.add(new Point(s.getRound(), s.getRoundId(), s.getEventJson(), eps, reported));
      }
      Double ceiling = budgets == null ? null : budgets.ceilingOf(site).epsilon();
      out.add(new SiteBudget(site, delta, ceiling, eps, reported, history, leftOut.getOrDefault(site, Map.of())));
    }
    return out;
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
      m.put("rounds", s.history().size());
      List<Map<String, Object>> h = new ArrayList<>();
      for (Point p : s.history()) {
        Map<String, Object> pm = new LinkedHashMap<>();
        pm.put("round", p.round());
        pm.put("epsilon", finite(p.epsilon()));
        pm.put("reported_epsilon", finite(p.reportedEpsilon()));
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

  /** JSON has no infinity: a non-private spend is reported as the string "Infinity". */
  private static Object finite(double v) {
    return Double.isFinite(v) ? v : (Object) String.valueOf(v);
  }
}

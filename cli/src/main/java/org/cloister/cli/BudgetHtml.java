package org.cloister.cli;

import org.cloister.simulations.report.Html;
import org.cloister.simulations.report.SvgChart;

import java.util.List;
import java.util.Locale;
import org.cloister.coordinator.budget.BudgetReport;

/** A self-contained HTML budget report (inline SVG, no scripts, no external resources): opens offline. */
final class BudgetHtml {

  private BudgetHtml() {
  }

  /** What the page says about itself: the study, its status, the accountant, the ledger head, when, and the verifications. */
  record Meta(String study, String studyStatus, String accountant, String headHash, java.time.Instant generated,
              List<BudgetReport.Check> checks) {
    boolean valid() {
      return checks.stream().allMatch(BudgetReport.Check::valid);
    }
  }

  static String render(Meta meta, List<BudgetReport.SiteBudget> sites) {
    String study = meta.study();
    boolean valid = meta.valid();
    StringBuilder b = new StringBuilder();
    b.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
        .append(valid ? "" : "INVALID: ").append("Privacy budget: ")
        .append(esc(study)).append("</title><style>body{font-family:sans-serif;margin:2em;color:#222}"
            + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right;white-space:nowrap}"
            + "th{background:#f3f3f3}td:first-child{text-align:left}.over{color:#b00;font-weight:bold}"
            + ".invalid{background:#b00;color:#fff;font-size:2em;font-weight:bold;padding:0.6em;border:6px solid #600;margin-bottom:1em}"
            + ".invalid li{font-size:0.5em;font-weight:normal}.verified{background:#e6f4ea;border:2px solid #2a7;padding:0.5em}"
            + ".untrusted{opacity:0.6;text-decoration:line-through}.diff{color:#b00}</style></head><body>");
    if (!valid) {
      b.append("<div class=\"invalid\" role=\"alert\">INVALID: this ledger failed verification. The figures below come from"
          + " it and must not be relied on.<ul>");
      for (BudgetReport.Check c : meta.checks()) {
        for (String p : c.problems()) {
          b.append("<li>").append(esc(c.name())).append(": ").append(esc(p)).append("</li>");
        }
      }
      b.append("</ul></div>");
    }
    b.append("<h1>").append(valid ? "" : "INVALID: ").append("Privacy budget of study ").append(esc(study)).append("</h1>");
    b.append("<p>Study status: ").append(esc(meta.studyStatus().isEmpty() ? "unknown" : meta.studyStatus()))
        .append(". Generated ").append(esc(meta.generated().toString())).append(". Accountant: ").append(esc(meta.accountant()))
        .append(". Ledger head: <code>").append(esc(meta.headHash())).append("</code>.</p>");
    b.append("<div class=\"").append(valid ? "verified" : "invalid").append("\">Verification: ");
    for (BudgetReport.Check c : meta.checks()) {
      b.append(esc(c.name())).append(" ").append(c.valid() ? "verified" : "INVALID").append(" (").append(esc(c.summary())).append("). ");
    }
    b.append("</div>");
    b.append("<p>Epsilon per site, recomputed with the ").append(esc(meta.accountant()))
        .append(" accountant from every signed spend the coordinator holds (whatever happened to the update), at each site's"
            + " delta; <em>own</em> is the site's own signed figure (cumulative on its dataset, from its RDP guard), shown beside the recomputation,"
            + " never instead of it. <em>Lifetime</em> adds every study in this database on the same dataset.</p>");
    b.append("<table").append(valid ? "" : " class=\"untrusted\"").append("><tr><th>site</th><th>spends</th><th>epsilon</th>"
        + "<th>own</th><th>ceiling</th><th>remaining</th><th>delta</th><th>lifetime</th><th>spends by status</th><th>left out</th></tr>");
    for (BudgetReport.SiteBudget s : sites) {
      boolean over = s.ceiling() != null && s.epsilon() > s.ceiling();
      b.append("<tr><td>").append(esc(s.siteId())).append("</td><td>").append(s.history().size()).append("</td><td")
          .append(over ? " class=\"over\"" : "").append(">").append(num(s.epsilon())).append("</td><td")
          .append(s.discrepancy() != null ? " class=\"diff\"" : "").append(">").append(num(s.reportedEpsilon())).append("</td><td>")
          .append(s.ceiling() == null ? "-" : num(s.ceiling())).append("</td><td>")
          .append(s.remaining() == null ? "-" : num(s.remaining())).append("</td><td>")
          .append(String.format(Locale.ROOT, "%.0e", s.delta())).append("</td><td>").append(num(s.lifetimeEpsilon()))
          .append(s.lifetimeStudies() > 1 ? " (" + s.lifetimeStudies() + " studies)" : "").append("</td><td>");
      s.byStatus().forEach((st, n) -> b.append(esc(st)).append(" ").append(n).append("<br>"));
      b.append("</td><td>");
      s.leftOut().forEach((r, why) -> b.append("round ").append(r).append(": ").append(esc(why)).append("<br>"));
      b.append("</td></tr>");
    }
    b.append("</table>");
    for (BudgetReport.SiteBudget s : sites) {
      if (s.discrepancy() != null) {
        b.append("<p class=\"diff\"><strong>Difference at ").append(esc(s.siteId())).append(":</strong> ")
            .append(esc(s.discrepancy())).append("</p>");
      }
    }
    b.append(chart(sites));
    b.append("</body></html>\n");
    return b.toString();
  }

  /** Epsilon per round per site (lines), each site's ceiling (dashed), drawn by the reports' one chart helper. */
  private static String chart(List<BudgetReport.SiteBudget> sites) {
    boolean any = sites.stream().flatMap(s -> s.history().stream()).anyMatch(p -> Double.isFinite(p.epsilon()));
    if (!any) {
      return "<p>No finite epsilon to plot (no private rounds in the ledger).</p>";
    }
    int maxRound = sites.stream().flatMap(s -> s.history().stream()).mapToInt(BudgetReport.Point::round).max().orElse(1);
    SvgChart chart = new SvgChart("epsilon-chart", "Epsilon per round", "round", "epsilon", false)
        .integerX().yDomain(0, Double.POSITIVE_INFINITY);
    for (int i = 0; i < sites.size(); i++) {
      BudgetReport.SiteBudget s = sites.get(i);
      String color = SvgChart.PALETTE[i % SvgChart.PALETTE.length];
      double[] x = s.history().stream().mapToDouble(BudgetReport.Point::round).toArray();
      double[] y = s.history().stream().mapToDouble(BudgetReport.Point::epsilon).toArray();
      chart.add(new SvgChart.Series(s.siteId(), x, y, color, false, true));
      if (s.ceiling() != null) {
        chart.add(new SvgChart.Series(s.siteId() + " ceiling", new double[] {1, Math.max(1, maxRound)},
            new double[] {s.ceiling(), s.ceiling()}, color, true, false));
      }
    }
    return "<h2>Epsilon per round</h2>" + chart.render();
  }

  private static String num(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "&infin;";
  }

  static String esc(String s) {
    return Html.esc(s);
  }
}

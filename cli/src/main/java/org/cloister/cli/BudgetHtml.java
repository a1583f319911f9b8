package org.cloister.cli;

import java.util.List;
import java.util.Locale;
import org.cloister.coordinator.budget.BudgetReport;

/** A self-contained HTML budget report (inline SVG, no scripts, no external resources): opens offline. */
final class BudgetHtml {
  private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

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

  /** Epsilon per round per site (lines), each site's ceiling (dashed). */
  private static String chart(List<BudgetReport.SiteBudget> sites) {
    int w = 640;
    int h = 320;
    int pad = 45;
    int maxRound = 1;
    double maxEps = 0;
    for (BudgetReport.SiteBudget s : sites) {
      for (BudgetReport.Point p : s.history()) {
        maxRound = Math.max(maxRound, p.round());
        if (Double.isFinite(p.epsilon())) {
          maxEps = Math.max(maxEps, p.epsilon());
        }
      }
      if (s.ceiling() != null) {
        maxEps = Math.max(maxEps, s.ceiling());
      }
    }
    if (maxEps <= 0) {
      return "<p>No finite epsilon to plot (no private rounds in the ledger).</p>";
    }
    maxEps *= 1.1;
    StringBuilder b = new StringBuilder("<h2>Epsilon per round</h2><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w
        + "\" height=\"" + h + "\" role=\"img\" aria-label=\"epsilon per round per site\">");
    b.append(line(pad, h - pad, w - 10, h - pad, "#000", false)).append(line(pad, 10, pad, h - pad, "#000", false));
    b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\">round</text>", w / 2, h - 10));
    b.append(String.format(Locale.ROOT, "<text x=\"5\" y=\"20\" font-size=\"12\">epsilon (max %.2f)</text>", maxEps));
    for (int i = 0; i < sites.size(); i++) {
      BudgetReport.SiteBudget s = sites.get(i);
      String color = COLORS[i % COLORS.length];
      StringBuilder pts = new StringBuilder();
      for (BudgetReport.Point p : s.history()) {
        if (Double.isFinite(p.epsilon())) {
          pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x(p.round(), maxRound, w, pad), y(p.epsilon(), maxEps, h, pad)));
        }
      }
      b.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"2\" points=\"").append(pts).append("\"/>");
      if (s.ceiling() != null) {
        double yc = y(s.ceiling(), maxEps, h, pad);
        b.append(line(pad, yc, w - 10, yc, color, true));
      }
      b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"%s\">%s</text>", w - 120, 20 + 14 * i,
          color, esc(s.siteId())));
    }
    return b.append("</svg>").toString();
  }

  private static double x(int round, int maxRound, int w, int pad) {
    return pad + (w - pad - 20) * (maxRound == 1 ? 0.5 : (round - 1) / (double) (maxRound - 1));
  }

  private static double y(double eps, double maxEps, int h, int pad) {
    return (h - pad) - (h - pad - 10) * eps / maxEps;
  }

  private static String line(double x1, double y1, double x2, double y2, String color, boolean dashed) {
    return String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"%s/>", x1, y1, x2, y2,
        color, dashed ? " stroke-dasharray=\"6,4\"" : "");
  }

  private static String num(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "&infin;";
  }

  static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}

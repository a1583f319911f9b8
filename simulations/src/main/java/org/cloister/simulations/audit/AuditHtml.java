package org.cloister.simulations.audit;

import java.util.Locale;
import org.cloister.audit.AuditResult;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.PoissonSampledEvent;

/**
 * A self-contained HTML page of an audit: the score histograms of included and excluded
 * canaries, and the empirical lower bound beside the accountant's epsilon over the steps (inline
 * SVG, no script, no external resource).
 */
public final class AuditHtml {
  private static final int W = 640;
  private static final int H = 260;
  private static final int PAD = 40;
  private static final int BINS = 40;

  private AuditHtml() {
  }

  public static String render(AuditOutcome o) {
    AuditResult r = o.result();
    AuditSettings s = o.settings();
    StringBuilder b = new StringBuilder();
    b.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Cloister privacy audit</title>")
        .append("<style>body{font-family:sans-serif;max-width:720px;margin:2em auto;color:#222}")
        .append("td{padding:2px 10px}.violation{color:#b00;font-weight:bold}.consistent{color:#070;font-weight:bold}")
        .append("</style></head><body>");
    b.append("<h1>Privacy audit (").append(esc(o.kind())).append(" canaries)</h1>");
    b.append("<p>Verdict: <span class=\"").append(esc(o.verdict())).append("\">").append(esc(o.verdict()))
        .append("</span>. With confidence ").append(fmt(r.confidence())).append(", the training run is not (")
        .append(fmt(r.epsilonLowerBound())).append(", ").append(r.delta()).append(")-DP for any smaller epsilon; ")
        .append("the accountant's bound is epsilon = ").append(fmt(o.epsilonUpperBound()))
        .append(". A lower bound below the accountant's is a passed test, not a proof of privacy.</p>");
    b.append("<table>");
    row(b, "canaries (included)", r.canaries() + " (" + r.included() + ")");
    row(b, "guesses / correct", r.guesses() + " / " + r.correct());
    row(b, "TPR at FPR 1e-3 / 1e-2", fmt(r.tprAtFpr1e3()) + " / " + fmt(r.tprAtFpr1e2()));
    row(b, "AUROC", fmt(r.auroc()));
    row(b, "model, steps, q, C", s.model() + ", " + s.steps() + ", " + s.samplingRate() + ", " + s.clipNorm());
    row(b, "noise multiplier run / told to the accountant", s.noiseMultiplier() + " / " + s.assumedNoiseMultiplier());
    b.append("</table>");
    b.append("<h2>Canary scores</h2>").append(histogram(o.scores(), o.included()));
    b.append("<h2>Empirical lower bound and the accountant's epsilon</h2>").append(curve(o));
    b.append("</body></html>\n");
    return b.toString();
  }

  private static String histogram(double[] scores, boolean[] included) {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (double v : scores) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (hi <= lo) {
      hi = lo + 1;
    }
    int[][] counts = new int[2][BINS];
    for (int i = 0; i < scores.length; i++) {
      int bin = Math.min(BINS - 1, (int) ((scores[i] - lo) / (hi - lo) * BINS));
      counts[included[i] ? 1 : 0][bin]++;
    }
    int max = 1;
    for (int[] c : counts) {
      for (int v : c) {
        max = Math.max(max, v);
      }
    }
    StringBuilder b = svgStart();
    double bw = (W - 2.0 * PAD) / BINS;
    String[] colour = {"#1f77b4", "#d62728"};
    for (int k = 0; k < 2; k++) {
      for (int i = 0; i < BINS; i++) {
        double h = (H - 2.0 * PAD) * counts[k][i] / max;
        b.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
            + "fill-opacity=\"0.5\"/>", PAD + i * bw, H - PAD - h, bw, h, colour[k]));
      }
    }
    axisLabels(b, fmt(lo), fmt(hi), "score");
    b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" fill=\"#1f77b4\">excluded</text>"
        + "<text x=\"%d\" y=\"20\" fill=\"#d62728\">included</text>", PAD, PAD + 100));
    return b.append("</svg>").toString();
  }

  private static String curve(AuditOutcome o) {
    AuditSettings s = o.settings();
    int points = Math.min(50, s.steps());
    double[] eps = new double[points + 1];
    double top = o.result().epsilonLowerBound();
    RdpAccountant acc = new RdpAccountant();
    PoissonSampledEvent step = new PoissonSampledEvent(s.samplingRate(), new GaussianEvent(s.assumedNoiseMultiplier()));
    long done = 0;
    for (int i = 1; i <= points; i++) {
      long target = Math.round((double) s.steps() * i / points);
      acc.compose(step, target - done);
      done = target;
      eps[i] = acc.epsilon(s.delta());
      top = Math.max(top, eps[i]);
    }
    top = top <= 0 ? 1 : top * 1.1;
    StringBuilder b = svgStart();
    StringBuilder path = new StringBuilder();
    for (int i = 0; i <= points; i++) {
      path.append(i == 0 ? "M" : "L").append(String.format(Locale.ROOT, "%.1f %.1f", x(i, points), y(eps[i], top)));
    }
    b.append("<path d=\"").append(path).append("\" fill=\"none\" stroke=\"#333\" stroke-width=\"2\"/>");
    double lb = o.result().epsilonLowerBound();
    b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#d62728\"/>", x(points, points), y(lb, top)));
    b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\">accountant's epsilon (line) after each step; "
        + "empirical lower bound at step %d (dot): %s</text>", PAD, s.steps(), fmt(lb)));
    axisLabels(b, "0", String.valueOf(s.steps()), "steps (epsilon axis 0 to " + fmt(top) + ")");
    return b.append("</svg>").toString();
  }

  private static double x(int i, int n) {
    return PAD + (W - 2.0 * PAD) * i / n;
  }

  private static double y(double v, double top) {
    return H - PAD - (H - 2.0 * PAD) * v / top;
  }

  private static StringBuilder svgStart() {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
        + "viewBox=\"0 0 %d %d\" font-size=\"12\">", W, H, W, H));
    b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>",
        PAD, H - PAD, W - PAD, H - PAD));
    b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>",
        PAD, PAD, PAD, H - PAD));
    return b;
  }

  private static void axisLabels(StringBuilder b, String left, String right, String title) {
    b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>", PAD, H - PAD + 16, esc(left)));
    b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", W - PAD, H - PAD + 16,
        esc(right)));
    b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>", W / 2, H - 8,
        esc(title)));
  }

  private static void row(StringBuilder b, String k, String v) {
    b.append("<tr><td>").append(esc(k)).append("</td><td>").append(esc(v)).append("</td></tr>");
  }

  private static String fmt(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "n/a";
  }

  private static String esc(String s) {
    return org.cloister.simulations.report.Html.esc(s);
  }
}

package org.cloister.simulations.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import org.cloister.simulations.SiteReport;
import org.cloister.simulations.Sweep;

/**
 * A self-contained HTML page about a simulated study, or a sweep of them, for a privacy officer
 * or a data scientist: inline SVG charts (accuracy and AUC per round; each site's epsilon per
 * round against its ceiling; for sweeps the privacy-utility curve) and the tables behind them.
 * No script, stylesheet, font or image is loaded from anywhere: the file opens offline.
 */
public final class HtmlReport {

  /** The report of one study. */
  public String study(SimulationResult r) {
    return study(r, null);
  }

  /**
   * The report of one study, with the configuration as the user wrote it ({@code asWritten}: the
   * command line and the scenario file's text, or null) above the resolved settings.
   */
  public String study(SimulationResult r, String asWritten) {
    SimulationConfig cfg = r.config();
    StringBuilder b = head("Cloister simulation report: " + cfg.studyId());
    b.append("<h1>Simulated study <code>").append(Html.esc(cfg.studyId())).append("</code></h1>\n");
    b.append(String.format(Locale.ROOT, "<p id=\"summary\">%d virtual hospitals, %s partition of <code>%s</code>, model %s, "
            + "%s, %d rounds. Status: %s. Final global model on %d held-out examples: <b>accuracy %.4f</b>, AUC %.4f.</p>%n",
        cfg.sites(), Html.esc(cfg.partition()), Html.esc(cfg.dataset()), Html.esc(cfg.model()), Html.esc(cfg.strategy()),
        cfg.rounds(), Html.esc(r.status()), r.finalMetrics().examples(), r.finalMetrics().accuracy(), r.finalMetrics().auc()));
    b.append("<p>").append(Html.esc(privacyLine(r))).append("</p>\n");
    b.append(utilityChart("utility-chart", r.rounds()));
    b.append(epsilonChart(r));
    b.append(sitesTable(r));
    b.append(roundsTable(r.rounds()));
    if (asWritten != null) {
      b.append("<h2>Configuration as written</h2>\n<pre id=\"config-as-written\">").append(Html.esc(asWritten))
          .append("</pre>\n");
    }
    b.append(configTable(cfg));
    return tail(b);
  }

  /** The report of a sweep: the privacy-utility table and curve, then each study's accuracy per round. */
  public String sweep(Sweep sweep, List<Sweep.Point> points) {
    StringBuilder b = head("Cloister sweep report");
    b.append("<h1>Sweep over ").append(Html.esc(String.join(" x ", sweep.axes().stream().map(a -> a.name()).toList())))
        .append("</h1>\n");
    if (!points.isEmpty()) {
      SimulationConfig cfg = points.get(0).result().config();
      b.append(String.format(Locale.ROOT, "<p id=\"summary\">%d studies of <code>%s</code> (%s partition, model %s, %d rounds, seed %d).</p>%n",
          points.size(), Html.esc(cfg.dataset()), Html.esc(cfg.partition()), Html.esc(cfg.model()), cfg.rounds(), cfg.seed()));
    }
    b.append(privacyUtilityChart(sweep, points));
    // the table
    List<Map<String, Object>> rows = sweep.table(points);
    b.append("<h2>Privacy-utility table</h2>\n<table id=\"sweep-table\"><thead><tr>");
    if (!rows.isEmpty()) {
      rows.get(0).keySet().forEach(k -> b.append("<th>").append(Html.esc(k)).append("</th>"));
    }
    b.append("</tr></thead><tbody>\n");
    for (Map<String, Object> row : rows) {
      b.append("<tr>");
      row.values().forEach(v -> b.append("<td>").append(v == null ? "&ndash;" : Html.esc(v instanceof Double d ? SvgChart.num(d) : v.toString()))
          .append("</td>"));
      b.append("</tr>\n");
    }
    b.append("</tbody></table>\n");
    SvgChart curves = new SvgChart("sweep-rounds-chart", "Test accuracy per round, each study", "round", "accuracy", false)
        .integerX().yDomain(0, 1);
    int i = 0;
    for (Sweep.Point p : points) {
      curves.add(new SvgChart.Series(label(p), rounds(p.result().rounds()),
          p.result().rounds().stream().mapToDouble(RoundReport::accuracy).toArray(), SvgChart.PALETTE[i++ % SvgChart.PALETTE.length], false, false));
    }
    b.append("<h2>Accuracy per round</h2>\n").append(curves.render());
    return tail(b);
  }

  public Path writeStudy(SimulationResult r, Path file) throws IOException {
    return write(study(r), file);
  }

  public Path writeSweep(Sweep sweep, List<Sweep.Point> points, Path file) throws IOException {
    return write(sweep(sweep, points), file);
  }

  private static Path write(String html, Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Files.writeString(file, html, StandardCharsets.UTF_8);
    return file;
  }

  private static String privacyUtilityChart(Sweep sweep, List<Sweep.Point> points) {
    boolean dp = points.stream().allMatch(p -> Double.isFinite(p.maxEpsilon()) && p.maxEpsilon() > 0);
    String axis = sweep.axes().get(0).name();
    boolean numericAxis = points.stream().allMatch(p -> isNumber(p.values().get(axis)));
    // x: the epsilon actually spent when every study was private, else the first swept parameter
    String xName = dp ? "largest epsilon spent by a site" : axis;
    SvgChart c = new SvgChart("privacy-utility-chart", "Privacy-utility curve", xName, "final test accuracy / AUC", dp)
        .yDomain(0, 1);
    if (!dp && !numericAxis) {
      return "<h2>Privacy-utility curve</h2>\n<p>(the swept values are not numeric: see the table)</p>\n";
    }
    // one line per combination of the other axes
    Map<String, List<Sweep.Point>> groups = new java.util.LinkedHashMap<>();
    for (Sweep.Point p : points) {
      StringBuilder key = new StringBuilder();
      p.values().forEach((k, v) -> {
        if (!k.equals(axis)) {
          key.append(key.length() == 0 ? "" : ", ").append(k).append('=').append(v);
        }
      });
      groups.computeIfAbsent(key.toString(), k -> new ArrayList<>()).add(p);
    }
    int i = 0;
    for (Map.Entry<String, List<Sweep.Point>> g : groups.entrySet()) {
      List<Sweep.Point> ps = new ArrayList<>(g.getValue());
      double[] x = ps.stream().mapToDouble(p -> dp ? p.maxEpsilon() : Double.parseDouble(p.values().get(axis))).toArray();
      double[] acc = ps.stream().mapToDouble(p -> p.result().finalMetrics().accuracy()).toArray();
      double[] auc = ps.stream().mapToDouble(p -> p.result().finalMetrics().auc()).toArray();
      sortByX(x, acc, auc);
      String color = SvgChart.PALETTE[i++ % SvgChart.PALETTE.length];
      String suffix = g.getKey().isEmpty() ? "" : " (" + g.getKey() + ")";
      c.add(new SvgChart.Series("accuracy" + suffix, x, acc, color, false, true));
      c.add(new SvgChart.Series("AUC" + suffix, x, auc, color, true, true));
    }
    return "<h2>Privacy-utility curve</h2>\n" + c.render();
  }

  private static void sortByX(double[] x, double[] a, double[] b) {
    Integer[] idx = new Integer[x.length];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = i;
    }
    java.util.Arrays.sort(idx, (p, q) -> Double.compare(x[p], x[q]));
    double[][] copies = {x.clone(), a.clone(), b.clone()};
    for (int i = 0; i < idx.length; i++) {
      x[i] = copies[0][idx[i]];
      a[i] = copies[1][idx[i]];
      b[i] = copies[2][idx[i]];
    }
  }

  private static boolean isNumber(String s) {
    try {
      Double.parseDouble(s);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static String label(Sweep.Point p) {
    StringBuilder s = new StringBuilder();
    p.values().forEach((k, v) -> s.append(s.length() == 0 ? "" : ", ").append(k).append('=').append(v));
    return s.toString();
  }

  private static String privacyLine(SimulationResult r) {
    SimulationConfig cfg = r.config();
    if (!cfg.dp().enabled()) {
      return "No differential privacy: the non-private baseline (epsilon is infinite).";
    }
    return String.format(Locale.ROOT, "DP-SGD at every site: noise multiplier %s, clip norm %.2f, %s.",
        org.cloister.dp.accounting.SafeRounding.upFixed(r.noiseMultiplier(), 4),
        cfg.dp().clipNorm(), Double.isNaN(cfg.dp().epsilon()) ? "epsilon as the accountant reports it (no ceiling)"
            : String.format(Locale.ROOT, "per-site ceiling epsilon %s at delta %s", SvgChart.num(cfg.dp().epsilon()),
                org.cloister.dp.accounting.SafeRounding.up(cfg.dp().delta(), 3)));
  }

  private static double[] rounds(List<RoundReport> rs) {
    return rs.stream().mapToDouble(RoundReport::round).toArray();
  }

  private static String utilityChart(String id, List<RoundReport> rs) {
    SvgChart c = new SvgChart(id, "Global model on the held-out test split", "round", "accuracy / AUC", false)
        .integerX().yDomain(0, 1);
    c.add(new SvgChart.Series("accuracy", rounds(rs), rs.stream().mapToDouble(RoundReport::accuracy).toArray(), SvgChart.PALETTE[0], false, true));
    c.add(new SvgChart.Series("AUC", rounds(rs), rs.stream().mapToDouble(RoundReport::auc).toArray(), SvgChart.PALETTE[1], false, true));
    return "<h2>Accuracy and AUC per round</h2>\n" + c.render();
  }

  private static String epsilonChart(SimulationResult r) {
    SimulationConfig cfg = r.config();
    if (!cfg.dp().enabled()) {
      return "<h2>Privacy spend per site</h2>\n<p>No DP: nothing to account.</p>\n";
    }
    SvgChart c = new SvgChart("epsilon-chart", "Cumulative epsilon per site", "round", "epsilon at delta "
        + String.format(Locale.ROOT, "%.0e", cfg.dp().delta()), false).integerX().yDomain(0, Double.POSITIVE_INFINITY);
    List<RoundReport> rs = r.rounds();
    double[] x = rounds(rs);
    int i = 0;
    if (r.sites().size() > LARGE) {
      // thousands of sites: the distribution over sites per round, not one line each
      String[] names = {"min over sites", "median", "max over sites"};
      for (int k = 0; k < 3; k++) {
        int which = k;
        double[] y = rs.stream().mapToDouble(rr -> quantile(rr.siteEpsilon().values(), which)).toArray();
        c.add(new SvgChart.Series(names[k], x, y, SvgChart.PALETTE[k], false, true));
      }
    }
    for (SiteReport s : r.sites().size() > LARGE ? List.<SiteReport>of() : r.sites()) {
      double[] y = rs.stream().mapToDouble(rr -> rr.siteEpsilon().getOrDefault(s.id(), Double.NaN)).toArray();
      c.add(new SvgChart.Series(s.id(), x, y, SvgChart.PALETTE[i++ % SvgChart.PALETTE.length], false, r.sites().size() <= 10));
    }
    if (!Double.isNaN(cfg.dp().epsilon())) {
      c.add(new SvgChart.Series("ceiling " + SvgChart.num(cfg.dp().epsilon()), new double[] {1, Math.max(1, cfg.rounds())},
          new double[] {cfg.dp().epsilon(), cfg.dp().epsilon()}, "#000000", true, false));
    }
    c.yRange(0, Double.isNaN(cfg.dp().epsilon()) ? 0 : cfg.dp().epsilon());
    return "<h2>Privacy spend per site</h2>\n" + c.render();
  }

  /** Above this many sites the report shows distributions over sites instead of one line or row each. */
  static final int LARGE = 20;

  /** 0: min, 1: median, 2: max of {@code values} (NaN when empty). */
  private static double quantile(java.util.Collection<Double> values, int which) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    return which == 0 ? v[0] : which == 1 ? v[v.length / 2] : v[v.length - 1];
  }

  private static String sitesTable(SimulationResult r) {
    if (r.sites().size() > LARGE) {
      StringBuilder b = new StringBuilder("<h2>Sites</h2>\n<p>" + r.sites().size() + " sites; one row per site is in"
          + " <code>sites.csv</code>.</p>\n<table id=\"sites-table\"><thead><tr><th></th><th>min</th><th>median</th><th>max</th>"
          + "</tr></thead><tbody>\n");
      row(b, "training examples", r.sites().stream().map(x -> (double) x.examples()).toList(), "%.0f");
      row(b, "rounds contributed", r.sites().stream().map(x -> (double) x.roundsContributed()).toList(), "%.0f");
      if (r.sites().stream().allMatch(x -> Double.isFinite(x.epsilon()))) {
        row(b, "epsilon", r.sites().stream().map(SiteReport::epsilon).toList(), "%.4f");
      }
      return b.append("</tbody></table>\n").toString();
    }
    StringBuilder b = new StringBuilder("<h2>Sites</h2>\n<table id=\"sites-table\"><thead><tr><th>site</th><th>training examples</th>"
        + "<th>rounds contributed</th><th>epsilon</th><th>delta</th></tr></thead><tbody>\n");
    for (SiteReport s : r.sites()) {
      b.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td></tr>%n", Html.esc(s.id()),
          s.examples(), s.roundsContributed(), Double.isFinite(s.epsilon()) ? String.format(Locale.ROOT, "%.4f", s.epsilon()) : "&infin;",
          Double.isFinite(s.delta()) ? String.format(Locale.ROOT, "%.0e", s.delta()) : "&ndash;"));
    }
    return b.append("</tbody></table>\n").toString();
  }

  private static void row(StringBuilder b, String name, List<Double> values, String format) {
    b.append("<tr><th>").append(Html.esc(name)).append("</th>");
    for (int k = 0; k < 3; k++) {
      b.append("<td>").append(String.format(Locale.ROOT, format, quantile(values, k))).append("</td>");
    }
    b.append("</tr>\n");
  }

  private static String roundsTable(List<RoundReport> rs) {
    StringBuilder b = new StringBuilder("<h2>Rounds</h2>\n<table id=\"rounds-table\"><thead><tr><th>round</th><th>sites</th>"
        + "<th>accuracy</th><th>AUC</th><th>loss</th><th>largest epsilon so far</th><th>seconds</th><th>left out</th></tr></thead><tbody>\n");
    for (RoundReport r : rs) {
      b.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%d</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%s</td><td>%.1f</td><td>%s</td></tr>%n",
          r.round(), r.sites().size(), r.accuracy(), r.auc(), r.loss(),
          Double.isNaN(r.maxEpsilon()) ? "&ndash;" : String.format(Locale.ROOT, "%.4f", r.maxEpsilon()), r.durationMillis() / 1000.0,
          Html.esc(r.leftOut().isEmpty() ? "" : r.leftOut().size() > 5 ? r.leftOut().size() + " sites"
              : r.leftOut().toString())));
    }
    return b.append("</tbody></table>\n").toString();
  }

  private static String configTable(SimulationConfig cfg) {
    StringBuilder b = new StringBuilder("<h2>Configuration (resolved: every setting, defaults included)</h2>\n"
        + "<table id=\"config-table\"><tbody>\n");
    cfg.describe().forEach((k, v) -> b.append("<tr><th>").append(Html.esc(k)).append("</th><td>")
        .append(Html.esc(String.valueOf(v))).append("</td></tr>\n"));
    return b.append("</tbody></table>\n").toString();
  }

  private static StringBuilder head(String title) {
    return new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n")
        .append("<title>").append(Html.esc(title)).append("</title>\n")
        .append("<style>body{font-family:sans-serif;margin:2em;max-width:1000px;color:#222}")
        .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}")
        .append("th{background:#f4f4f4}svg.chart{display:block;margin:1em 0}code{background:#f4f4f4}")
        .append("#rounds-table td,#sites-table td,#sweep-table td{white-space:nowrap}")
        .append("pre{background:#f4f4f4;padding:0.5em;white-space:pre-wrap}</style>\n")
        .append("</head>\n<body>\n");
  }

  private static String tail(StringBuilder b) {
    b.append("<footer><p>Generated by Cloister. Self-contained: no script, no external resources; "
        + "contains aggregate figures only, no patient data.</p></footer>\n</body>\n</html>\n");
    return b.toString();
  }
}

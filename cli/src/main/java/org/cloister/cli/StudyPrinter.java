package org.cloister.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import org.cloister.dp.accounting.SafeRounding;
import org.cloister.simulations.ResultsWriter;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import org.cloister.simulations.SiteReport;

/** Prints a simulated study's progress and summary for people, or its results as JSON for machines. */
final class StudyPrinter {
  private static final int BAR = 20;
  private final PrintWriter out;
  private final boolean json;
  private final boolean terminal;
  private boolean lineOpen;
  private long millisSoFar;
  private int roundsSoFar;
  private String engineDescription = org.cloister.simulations.AggregationStack.describeMode();
  /** Above this many sites the summary gives distributions instead of one line per site. */
  static final int SITE_LINES = 20;

  /**
   * @param terminal true to redraw one progress line with carriage returns (an interactive
   *                 terminal); false for one plain line per round (logs, pipes, CI)
   */
  StudyPrinter(PrintWriter out, boolean json, boolean terminal) {
    this.out = out;
    this.json = json;
    this.terminal = terminal;
  }

  StudyPrinter(PrintWriter out, boolean json) {
    this(out, json, false);
  }

  /** Whether standard output is an interactive terminal. */
  static boolean stdoutIsTerminal() {
    return System.console() != null && !"dumb".equals(System.getenv("TERM"));
  }

  /** What the header says about how the study aggregates (the engine's own description). */
  StudyPrinter engine(String description) {
    this.engineDescription = description;
    return this;
  }

  void header(SimulationConfig cfg) {
    if (json) {
      return;
    }
    out.printf(Locale.ROOT, "Study %s: %d hospitals, %s partition of %s, model %s, %d rounds, %s%n",
        cfg.studyId(), cfg.sites(), cfg.partition(), cfg.dataset(), cfg.model(), cfg.rounds(),
        (cfg.dp().enabled() ? "DP-SGD" : "no DP") + ", " + engineDescription);
    out.flush();
  }

  void round(RoundReport r, SimulationConfig cfg) {
    if (json) {
      return;
    }
    String eps = epsilonSpent(r, cfg);
    millisSoFar += r.durationMillis();
    roundsSoFar++;
    String pace = pace(r, cfg);
    if (terminal) {
      int filled = (int) Math.round(BAR * (double) r.round() / cfg.rounds());
      out.printf(Locale.ROOT, "\r[%s%s] round %d/%d  accuracy %.4f  auc %.4f%s  (%s)\u001b[K",
          "#".repeat(Math.min(BAR, filled)), ".".repeat(Math.max(0, BAR - filled)), r.round(), cfg.rounds(),
          r.accuracy(), r.auc(), eps, pace);
      lineOpen = true;
      if (!r.leftOut().isEmpty() || r.round() == cfg.rounds()) {
        endLine();
      }
      if (!r.leftOut().isEmpty()) {
        out.println("  round " + r.round() + " left out: " + leftOut(r));
      }
    } else {
      out.printf(Locale.ROOT, "round %2d/%d  sites %d/%d  accuracy %.4f  auc %.4f  loss %.4f%s  (%s)%s%n",
          r.round(), cfg.rounds(), r.sites().size(), cfg.sites(), r.accuracy(), r.auc(), r.loss(), eps,
          pace, r.leftOut().isEmpty() ? "" : "  left out: " + leftOut(r));
    }
    out.flush();
  }

  /** "1.5 s, 2.0 sites/s, ETA 3 s": the round's time, its throughput and the time left at the mean pace so far. */
  private String pace(RoundReport r, SimulationConfig cfg) {
    double seconds = r.durationMillis() / 1000.0;
    double perSecond = seconds > 0 ? r.sites().size() / seconds : 0;
    long eta = Math.round(millisSoFar / (double) roundsSoFar * Math.max(0, cfg.rounds() - r.round()) / 1000.0);
    return String.format(Locale.ROOT, "%.1f s, %s sites/s, ETA %s", seconds,
        perSecond >= 100 ? String.format(Locale.ROOT, "%.0f", perSecond) : String.format(Locale.ROOT, "%.1f", perSecond),
        eta >= 120 ? (eta / 60) + " min" : eta + " s");
  }

  /** The sites left out of a round, at most five named (a large study may leave out hundreds). */
  static String leftOut(RoundReport r) {
    java.util.List<String> ids = new java.util.ArrayList<>(new java.util.TreeSet<>(r.leftOut().keySet()));
    if (ids.size() <= 5) {
      return ids.toString();
    }
    return ids.size() + " sites " + ids.subList(0, 5).toString().replace("]", ", ...]");
  }

  /** Marks every line that reports results of a study without DP. */
  static final String NON_PRIVATE = "  NON-PRIVATE (no DP, epsilon infinite)";

  /**
   * "  epsilon 0.31/1.00" (the largest spend of any site against the per-site ceiling), or
   * {@link #NON_PRIVATE} without DP, so no result line of a non-private study can pass for a private one.
   */
  static String epsilonSpent(RoundReport r, SimulationConfig cfg) {
    if (!cfg.dp().enabled()) {
      return NON_PRIVATE;
    }
    double e = r.maxEpsilon();
    if (Double.isNaN(e)) {
      return "";
    }
    return Double.isNaN(cfg.dp().epsilon()) ? String.format(Locale.ROOT, "  epsilon %.2f", e)
        : String.format(Locale.ROOT, "  epsilon %.2f/%.2f", e, cfg.dp().epsilon());
  }

  private void endLine() {
    if (lineOpen) {
      out.println();
      lineOpen = false;
    }
  }

  void summary(SimulationResult result, Path written) throws java.io.IOException {
    endLine();
    if (json) {
      out.println(new ResultsWriter().toJson(result));
      out.flush();
      return;
    }
    out.printf(Locale.ROOT, "Study %s: %s in %.1f s%n", result.config().studyId(), result.status(), result.wallMillis() / 1000.0);
    if (Double.isFinite(result.noiseMultiplier())) {
      // privacy figures are rounded in the safe direction (sigma, epsilon, delta up)
      out.printf(Locale.ROOT, "DP-SGD: noise multiplier %s, clip norm %.2f%s%n",
          SafeRounding.upFixed(result.noiseMultiplier(), 4), result.config().dp().clipNorm(),
          Double.isNaN(result.config().dp().epsilon()) ? "" : String.format(Locale.ROOT,
              " (calibrated so that %d rounds fit epsilon %s at delta %s per site)", result.config().rounds(),
              SafeRounding.upFixed(result.config().dp().epsilon(), 2), SafeRounding.up(result.config().dp().delta(), 3)));
    }
    if (result.sites().size() > SITE_LINES) {
      siteDistributions(result);
    }
    for (SiteReport s : result.sites().size() > SITE_LINES ? java.util.List.<SiteReport>of() : result.sites()) {
      out.printf(Locale.ROOT, "  %-8s %5d training examples, contributed to %d rounds, epsilon %s%n", s.id(), s.examples(),
          s.roundsContributed(), Double.isFinite(s.epsilon())
              ? String.format(Locale.ROOT, "%s at delta %s", SafeRounding.upFixed(s.epsilon(), 3),
                  SafeRounding.up(s.delta(), 3)) : "infinite (non-private)");
    }
    out.printf(Locale.ROOT, "Final global model on %d held-out patients: accuracy %.4f, AUC %.4f%s%n",
        result.finalMetrics().examples(), result.finalMetrics().accuracy(), result.finalMetrics().auc(),
        result.config().dp().enabled() ? "" : NON_PRIVATE);
    out.println("Results: " + written + ", " + written.resolveSibling("rounds.csv") + " and " + written.resolveSibling("sites.csv"));
    out.flush();
  }

  /** Large studies: the distributions over sites (min, median, max), the per-site rows being in sites.csv. */
  private void siteDistributions(SimulationResult result) {
    java.util.List<SiteReport> sites = result.sites();
    out.printf(Locale.ROOT, "  %d sites (min / median / max): training examples %s, rounds contributed %s%n", sites.size(),
        spread(sites.stream().mapToDouble(SiteReport::examples).toArray(), "%.0f"),
        spread(sites.stream().mapToDouble(SiteReport::roundsContributed).toArray(), "%.0f"));
    double[] eps = sites.stream().mapToDouble(SiteReport::epsilon).toArray();
    if (java.util.Arrays.stream(eps).allMatch(Double::isFinite)) {
      double[] sorted = eps.clone();
      java.util.Arrays.sort(sorted);
      out.printf(Locale.ROOT, "  epsilon per site at delta %s: min %s, median %s, max %s%n", SafeRounding.up(sites.get(0).delta(), 3),
          SafeRounding.upFixed(sorted[0], 3), SafeRounding.upFixed(sorted[sorted.length / 2], 3),
          SafeRounding.upFixed(sorted[sorted.length - 1], 3));
    } else {
      out.println("  epsilon per site: infinite (non-private)");
    }
  }

  private static String spread(double[] values, String format) {
    double[] v = values.clone();
    java.util.Arrays.sort(v);
    return String.format(Locale.ROOT, format + " / " + format + " / " + format, v[0], v[v.length / 2], v[v.length - 1]);
  }
}

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

  void header(SimulationConfig cfg) {
    if (json) {
      return;
    }
    out.printf(Locale.ROOT, "Study %s: %d hospitals, %s partition of %s, model %s, %d rounds, %s%n",
        cfg.studyId(), cfg.sites(), cfg.partition(), cfg.dataset(), cfg.model(), cfg.rounds(),
        (cfg.dp().enabled() ? "DP-SGD" : "no DP") + ", " + org.cloister.simulations.AggregationStack.describeMode());
    out.flush();
  }

  void round(RoundReport r, SimulationConfig cfg) {
    if (json) {
      return;
    }
    String eps = epsilonSpent(r, cfg);
    if (terminal) {
      int filled = (int) Math.round(BAR * (double) r.round() / cfg.rounds());
      out.printf(Locale.ROOT, "\r[%s%s] round %d/%d  accuracy %.4f  auc %.4f%s  (%.1f s/round)\u001b[K",
          "#".repeat(Math.min(BAR, filled)), ".".repeat(Math.max(0, BAR - filled)), r.round(), cfg.rounds(),
          r.accuracy(), r.auc(), eps, r.durationMillis() / 1000.0);
      lineOpen = true;
      if (!r.leftOut().isEmpty() || r.round() == cfg.rounds()) {
        endLine();
      }
      if (!r.leftOut().isEmpty()) {
        out.println("  round " + r.round() + " left out: " + r.leftOut().keySet());
      }
    } else {
      out.printf(Locale.ROOT, "round %2d/%d  sites %d/%d  accuracy %.4f  auc %.4f  loss %.4f%s  (%.1f s)%s%n",
          r.round(), cfg.rounds(), r.sites().size(), cfg.sites(), r.accuracy(), r.auc(), r.loss(), eps,
          r.durationMillis() / 1000.0, r.leftOut().isEmpty() ? "" : "  left out: " + r.leftOut().keySet());
    }
    out.flush();
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
    for (SiteReport s : result.sites()) {
      out.printf(Locale.ROOT, "  %-8s %5d training examples, contributed to %d rounds, epsilon %s%n", s.id(), s.examples(),
          s.roundsContributed(), Double.isFinite(s.epsilon())
              ? String.format(Locale.ROOT, "%s at delta %s", SafeRounding.upFixed(s.epsilon(), 3),
                  SafeRounding.up(s.delta(), 3)) : "infinite (non-private)");
    }
    out.printf(Locale.ROOT, "Final global model on %d held-out patients: accuracy %.4f, AUC %.4f%s%n",
        result.finalMetrics().examples(), result.finalMetrics().accuracy(), result.finalMetrics().auc(),
        result.config().dp().enabled() ? "" : NON_PRIVATE);
    out.println("Results: " + written + " and " + written.resolveSibling("rounds.csv"));
    out.flush();
  }
}

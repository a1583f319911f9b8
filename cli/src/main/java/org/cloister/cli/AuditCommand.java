package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cloister.data.BadRowPolicy;
import org.cloister.data.BuiltinDatasets;
import org.cloister.data.CsvDatasetLoader;
import org.cloister.data.Dataset;
import org.cloister.data.Standardizer;
import org.cloister.simulations.audit.AuditHtml;
import org.cloister.simulations.audit.AuditJson;
import org.cloister.simulations.audit.AuditOutcome;
import org.cloister.simulations.audit.AuditSettings;
import org.cloister.simulations.audit.GradientCanaryAudit;
import org.cloister.simulations.audit.InputCanaryAudit;
import org.cloister.simulations.audit.SiteCanaryAudit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code cloister audit}: an empirical one-run privacy audit of the DP-SGD trainer, a lower bound
 * on epsilon and a verdict against the accountant. See docs/privacy-audit.md.
 */
@Command(name = "audit", mixinStandardHelpOptions = true,
    description = {"Audits DP-SGD empirically with canaries: a lower bound on epsilon beside the accountant's upper bound.",
        "Empirical privacy audit (one run, Steinke-Nasr-Jagielski 2023): canaries, an epsilon lower bound at "
        + "confidence 1 - beta and a verdict (consistent | violation) against the accountant's epsilon.",
        "A test of the implementation, not a proof of privacy. See docs/privacy-audit.md."})
final class AuditCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--dataset", defaultValue = "builtin:wdbc", description = "builtin:wdbc or csv:PATH (default: ${DEFAULT-VALUE})")
  String dataset;

  @Option(names = "--label", defaultValue = "malignant", description = "label column of a csv dataset (default: ${DEFAULT-VALUE})")
  String label;

  @Option(names = "--model", defaultValue = "logreg", description = "logreg or mlp (default: ${DEFAULT-VALUE})")
  String model;

  @Option(names = "--kind", defaultValue = "gradient", description = "canary kind: gradient (white box, Dirac canaries) or input (black box, out-of-range records "
      + "scored by the final model's loss) or sites (federated canary sites through the enclave's central DP; --steps "
      + "is the number of rounds, --noise-multiplier 0 means no central DP) (default: ${DEFAULT-VALUE})")
  String kind;

  @Option(names = "--dimension", defaultValue = "1000", description = "--kind sites: the model's parameter count d (default: ${DEFAULT-VALUE})")
  int dimension;

  @Option(names = "--background-sites", defaultValue = "10", description = "--kind sites: ordinary sites in every round (default: ${DEFAULT-VALUE})")
  int backgroundSites;

  @Option(names = "--canaries", defaultValue = "1000", description = "m, the number of canaries (default: ${DEFAULT-VALUE})")
  int canaries;

  @Option(names = "--noise-multiplier", required = true, description = "S: the noise multiplier the trainer runs")
  double noiseMultiplier;

  @Option(names = "--assume-noise-multiplier",
      description = "S': the noise multiplier the accountant is told (default: S; set it only to test the auditor)")
  Double assumedNoiseMultiplier;

  @Option(names = "--clip", defaultValue = "1.0", description = "C, the clipping norm (default: ${DEFAULT-VALUE})")
  double clip;

  @Option(names = "--sampling-rate", defaultValue = "0.1", description = "q (default: ${DEFAULT-VALUE})")
  double samplingRate;

  @Option(names = "--steps", defaultValue = "100", description = "T, DP-SGD steps (default: ${DEFAULT-VALUE})")
  int steps;

  @Option(names = "--delta", defaultValue = "1e-5", description = "delta of the accountant's bound and of the test (default: ${DEFAULT-VALUE})")
  double delta;

  @Option(names = "--beta", defaultValue = "0.05", description = "1 - confidence of the lower bound (default: ${DEFAULT-VALUE})")
  double beta;

  @Option(names = "--learning-rate", defaultValue = "0.1", description = "SGD learning rate (default: ${DEFAULT-VALUE})")
  double learningRate;

  @Option(names = "--seed", description = "seed of the canaries' secret inclusion bits, sampling and noise "
      + "(default: a fresh random seed, printed)")
  Long seed;

  @Option(names = "--out", description = "directory for audit.json and scores.csv")
  Path out;

  @Option(names = "--report", description = "write a self-contained HTML report to this file")
  Path report;

  @Option(names = "--json", description = "print the result as one JSON object")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter stdout = spec.commandLine().getOut();
    if (kind.equals("sites")) {
      return sites(stdout);
    }
    if (!kind.equals("gradient") && !kind.equals("input")) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--kind must be gradient, input or sites, got '"
          + kind + "'");
    }
    AuditSettings settings;
    try {
      settings = new AuditSettings(model, canaries, noiseMultiplier,
          assumedNoiseMultiplier == null ? noiseMultiplier : assumedNoiseMultiplier, clip, samplingRate, steps, delta,
          beta, learningRate, seed != null ? seed : new SecureRandom().nextLong());
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    Dataset data = load();
    data = Standardizer.fit(data).apply(data);
    boolean terminal = !json && StudyPrinter.stdoutIsTerminal();
    java.util.function.IntConsumer progress = done -> {
      if (terminal) {
        int filled = (int) Math.round(30.0 * done / settings.steps());
        stdout.printf(Locale.ROOT, "\r[%s%s] step %d/%d\u001b[K", "#".repeat(filled), ".".repeat(30 - filled),
            done, settings.steps());
        stdout.flush();
      }
    };
    AuditOutcome o = kind.equals("input") ? new InputCanaryAudit(settings).run(data, progress)
        : new GradientCanaryAudit(settings).run(data, progress);
    if (terminal) {
      stdout.println();
    }
    Map<String, Object> j = AuditJson.of(o);
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    if (out != null) {
      Files.createDirectories(out);
      Files.writeString(out.resolve("audit.json"), mapper.writeValueAsString(j) + "\n", StandardCharsets.UTF_8);
      StringBuilder csv = new StringBuilder("canary,included,score\n");
      double[] scores = o.scores();
      boolean[] in = o.included();
      for (int i = 0; i < scores.length; i++) {
        csv.append(i).append(',').append(in[i] ? 1 : 0).append(',').append(scores[i]).append('\n');
      }
      Files.writeString(out.resolve("scores.csv"), csv, StandardCharsets.UTF_8);
    }
    if (report != null) {
      Path parent = report.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      Files.writeString(report, AuditHtml.render(o), StandardCharsets.UTF_8);
    }
    if (json) {
      stdout.println(new ObjectMapper().writeValueAsString(j));
    } else {
      stdout.printf(Locale.ROOT, "Audit (%s canaries, m=%d, %s, %d steps): epsilon >= %.3f with confidence %.2f; "
              + "accountant (RDP, S'=%s): epsilon <= %.3f at delta %s%n",
          o.kind(), settings.canaries(), settings.model(), settings.steps(), o.result().epsilonLowerBound(),
          o.result().confidence(), settings.assumedNoiseMultiplier(), o.epsilonUpperBound(), settings.delta());
      stdout.printf(Locale.ROOT, "guesses %d, correct %d; TPR@FPR 1e-3 %.3f, 1e-2 %.3f; AUROC %.3f; %.1f s%n",
          o.result().guesses(), o.result().correct(), o.result().tprAtFpr1e3(), o.result().tprAtFpr1e2(),
          o.result().auroc(), o.seconds());
      stdout.println("verdict: " + o.verdict());
    }
    stdout.flush();
    return 0;
  }

  private int sites(PrintWriter stdout) throws Exception {
    SiteCanaryAudit.Settings s;
    try {
      s = new SiteCanaryAudit.Settings(canaries, backgroundSites, dimension, steps, noiseMultiplier,
          assumedNoiseMultiplier == null ? noiseMultiplier : assumedNoiseMultiplier, clip, delta, beta,
          seed != null ? seed : new SecureRandom().nextLong());
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (report != null) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--report is not available for --kind sites yet "
          + "(use --out or --json)");
    }
    SiteCanaryAudit.Outcome o = new SiteCanaryAudit(s).run(done -> { });
    Map<String, Object> j = new java.util.LinkedHashMap<>();
    j.put("kind", "sites");
    j.put("epsilon_lower_bound", o.result().epsilonLowerBound());
    j.put("confidence", o.result().confidence());
    // JSON has no infinity: without central DP the upper bound is null and the verdict not_protected
    j.put("epsilon_upper_bound", Double.isInfinite(o.epsilonUpperBound()) ? null : o.epsilonUpperBound());
    j.put("epsilon_estimate", o.epsilonEstimate());
    j.put("epsilon_estimate_per_round", o.roundEstimates());
    j.put("verdict", o.verdict());
    j.put("canaries", o.result().canaries());
    j.put("guesses", o.result().guesses());
    j.put("correct", o.result().correct());
    j.put("tpr_at_fpr_1e-3", o.result().tprAtFpr1e3());
    j.put("tpr_at_fpr_1e-2", o.result().tprAtFpr1e2());
    j.put("auroc", o.result().auroc());
    j.put("rounds", s.rounds());
    j.put("noise_multiplier", s.noiseMultiplier());
    j.put("assumed_noise_multiplier", s.assumedNoiseMultiplier());
    j.put("delta", s.delta());
    j.put("seed", s.seed());
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    if (out != null) {
      Files.createDirectories(out);
      Files.writeString(out.resolve("audit.json"), mapper.writeValueAsString(j) + "\n", StandardCharsets.UTF_8);
      StringBuilder csv = new StringBuilder("canary,included,score\n");
      double[] scores = o.scores();
      boolean[] in = o.included();
      for (int i = 0; i < scores.length; i++) {
        csv.append(i).append(',').append(in[i] ? 1 : 0).append(',').append(scores[i]).append('\n');
      }
      Files.writeString(out.resolve("scores.csv"), csv, StandardCharsets.UTF_8);
    }
    if (json) {
      stdout.println(new ObjectMapper().writeValueAsString(j));
    } else {
      stdout.printf(Locale.ROOT, "Audit (canary sites, m=%d, %d rounds): epsilon >= %.3f with confidence %.2f; "
              + "Gaussian-fit estimate %.3f; accountant (RDP, central DP z'=%s): epsilon <= %s at delta %s%n",
          s.canaries(), s.rounds(), o.result().epsilonLowerBound(), o.result().confidence(), o.epsilonEstimate(),
          s.assumedNoiseMultiplier(), Double.isInfinite(o.epsilonUpperBound()) ? "infinity (no central DP)"
              : String.format(Locale.ROOT, "%.3f", o.epsilonUpperBound()), s.delta());
      stdout.println("verdict: " + o.verdict());
    }
    stdout.flush();
    return 0;
  }

  private Dataset load() {
    if (dataset.equals("builtin:wdbc")) {
      return BuiltinDatasets.wdbc();
    }
    if (dataset.startsWith("csv:")) {
      return CsvDatasetLoader.inferringClasses(label, BadRowPolicy.FAIL).load(Path.of(dataset.substring(4))).dataset();
    }
    throw new CommandLine.ParameterException(spec.commandLine(),
        "unknown --dataset '" + dataset + "' (expected builtin:wdbc or csv:PATH)");
  }
}

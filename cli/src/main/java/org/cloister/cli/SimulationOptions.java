package org.cloister.cli;

import java.nio.file.Path;
import java.time.Duration;
import org.cloister.simulations.DpSettings;
import org.cloister.simulations.SimulationConfig;
import picocli.CommandLine.Option;

/** Flags shared by {@code demo} and {@code simulate}; each one given overrides the scenario's value. */
final class SimulationOptions {
  @Option(names = "--dataset", paramLabel = "SPEC",
      description = {"builtin:wdbc, csv:PATH (a header row, numeric features), synthea:DIR (a cohort from `cloister synthea`)",
          "or synthetic[:features=30,examples=100,tail=1.5,label_skew=0.5,shift=0.3,separation=2] (generated per site)."})
  String dataset;

  @Option(names = "--label", paramLabel = "COLUMN", description = "Label column of a CSV dataset.")
  String label;

  @Option(names = "--outcome", paramLabel = "NAME",
      description = "Outcome of a Synthea cohort: diabetes (default), hypertension or snomed:CODE[+CODE...].")
  String outcome;

  @Option(names = "--sites", paramLabel = "N", description = "Virtual hospitals.")
  Integer sites;

  @Option(names = "--partition", paramLabel = "SPEC", description = "iid, dirichlet:ALPHA, label-skew:K, by-column:NAME or by-site (a Synthea cohort's hospitals).")
  String partition;

  @Option(names = "--rounds", paramLabel = "R", description = "Federated rounds.")
  Integer rounds;

  @Option(names = "--local-epochs", paramLabel = "E", description = "Local epochs per round.")
  Integer localEpochs;

  @Option(names = "--local-steps", paramLabel = "S", description = "Local optimizer steps per round (instead of epochs).")
  Integer localSteps;

  @Option(names = "--batch-size", paramLabel = "B", description = "Local minibatch size.")
  Integer batchSize;

  @Option(names = "--learning-rate", paramLabel = "LR", description = "Local learning rate.")
  Double learningRate;

  @Option(names = "--model", paramLabel = "NAME", description = "logreg, mlp or cnn.")
  String model;

  @Option(names = "--strategy", paramLabel = "NAME", description = "fedavg, fedprox[:MU] (sites add the proximal term (MU/2)||w - w_round||^2, default MU 0.01), fedadam or fedyogi (server optimizers run in the enclave).")
  String strategy;

  @Option(names = "--min-sites", paramLabel = "N", description = "Quorum: valid updates needed to aggregate a round.")
  Integer minSites;

  @Option(names = "--round-deadline", paramLabel = "SECONDS", description = "How long a round collects updates.")
  Double roundDeadline;

  @Option(names = "--seed", paramLabel = "N", description = "Seed for splits, initialization and sampling.")
  Long seed;

  @Option(names = "--out", paramLabel = "DIR", description = "Output folder for results.json and rounds.csv.")
  Path out;

  @Option(names = "--epsilon", paramLabel = "E", description = "Per-site epsilon budget: DP-SGD with the noise multiplier calibrated so the planned rounds fit it.")
  Double epsilon;

  @Option(names = "--delta", paramLabel = "D", description = "Per-site delta (default 1e-5).")
  Double delta;

  @Option(names = "--noise-multiplier", paramLabel = "S", description = "DP-SGD noise multiplier (instead of --epsilon).")
  Double noiseMultiplier;

  @Option(names = "--clip", paramLabel = "C", description = "Per-example L2 clipping norm (default 1.0).")
  Double clip;

  @Option(names = "--sampling-rate", paramLabel = "Q", description = "Poisson sampling rate per step (default batch size / site examples).")
  Double samplingRate;

  @Option(names = "--csv-delimiter", paramLabel = "CHAR",
      description = "Field delimiter of a csv: dataset: one character such as ';' or '|', or tab (default ',').")
  String csvDelimiter;

  @Option(names = "--ignore-columns", paramLabel = "COLUMN", split = ",",
      description = "Columns of a csv: dataset that are not features (identifiers), dropped on reading; comma-separated.")
  java.util.List<String> ignoreColumns;

  @Option(names = "--missing-values", paramLabel = "TOKEN", split = ",",
      description = "Tokens that mean a missing value besides the empty field (e.g. NA,?); comma-separated.")
  java.util.List<String> missingValues;

  @Option(names = "--missing", paramLabel = "RULE",
      description = "What a missing feature value does: fail (default: an error naming line and column), skip (drop the row, counted), centre (the feature's declared or DP-released centre) or constant:VALUE.")
  String missing;

  @Option(names = "--missing-column", paramLabel = "COLUMN=RULE",
      description = "A missing-value rule for one column, overriding --missing (repeatable).")
  java.util.Map<String, String> missingColumns;

  @Option(names = "--no-dp", description = "The non-private baseline (no DP-SGD, infinite epsilon).")
  boolean noDp;

  /** Applies the flags that were given onto {@code b}. */
  SimulationConfig.Builder applyTo(SimulationConfig.Builder b) {
    if (dataset != null) {
      b.dataset(dataset);
    }
    if (label != null && outcome != null) {
      throw new IllegalArgumentException("give --label (a CSV column) or --outcome (a Synthea outcome), not both");
    }
    if (label != null) {
      b.labelColumn(label);
    }
    if (outcome != null) {
      b.labelColumn(outcome);
    }
    if (sites != null) {
      b.sites(sites);
    }
    if (partition != null) {
      b.partition(partition);
    }
    if (rounds != null) {
      b.rounds(rounds);
    }
    if (localEpochs != null) {
      b.localEpochs(localEpochs);
    }
    if (localSteps != null) {
      b.localSteps(localSteps);
    }
    if (batchSize != null) {
      b.batchSize(batchSize);
    }
    if (learningRate != null) {
      b.learningRate(learningRate);
    }
    if (model != null) {
      b.model(model);
    }
    if (strategy != null) {
      b.strategy(strategy);
    }
    if (minSites != null) {
      b.minSitesPerRound(minSites);
    }
    if (roundDeadline != null) {
      b.roundDeadline(Duration.ofMillis((long) (roundDeadline * 1000)));
    }
    if (seed != null) {
      b.seed(seed);
    }
    if (out != null) {
      b.outDir(out);
    }
    if (csvDelimiter != null || ignoreColumns != null || missingValues != null || missing != null || missingColumns != null) {
      org.cloister.data.CsvOptions cur = b.currentCsv();
      java.util.Map<String, org.cloister.data.MissingRule> by = new java.util.LinkedHashMap<>(cur.missingByColumn());
      if (missingColumns != null) {
        missingColumns.forEach((k, v) -> {
          try {
            by.put(k, org.cloister.data.MissingRule.parse(v));
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--missing-column " + k + "=" + v + ": " + e.getMessage(), e);
          }
        });
      }
      org.cloister.data.MissingRule rule = cur.missing();
      if (missing != null) {
        try {
          rule = org.cloister.data.MissingRule.parse(missing);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("--missing: " + e.getMessage(), e);
        }
      }
      char delimiter = cur.delimiter();
      if (csvDelimiter != null) {
        try {
          delimiter = org.cloister.data.CsvOptions.delimiter(csvDelimiter);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("--csv-delimiter: " + e.getMessage(), e);
        }
      }
      b.csv(new org.cloister.data.CsvOptions(delimiter, ignoreColumns != null ? ignoreColumns : cur.ignoreColumns(),
          missingValues != null ? missingValues : cur.missingValues(), rule, by));
    }
    if (noDp) {
      if (epsilon != null || noiseMultiplier != null) {
        throw new IllegalArgumentException("--no-dp cannot be combined with --epsilon or --noise-multiplier");
      }
      b.dp(DpSettings.off());
    } else if (epsilon != null || noiseMultiplier != null || delta != null || clip != null || samplingRate != null) {
      DpSettings cur = b.build().dp();
      boolean explicitSigma = noiseMultiplier != null;
      boolean explicitEps = epsilon != null;
      double eps = explicitSigma && !explicitEps ? Double.NaN : explicitEps ? epsilon : cur.enabled() ? cur.epsilon() : Double.NaN;
      double sigma = explicitEps && !explicitSigma ? Double.NaN : explicitSigma ? noiseMultiplier : cur.enabled() ? cur.noiseMultiplier() : Double.NaN;
      if (Double.isNaN(eps) && Double.isNaN(sigma)) {
        throw new IllegalArgumentException("DP settings need --epsilon or --noise-multiplier");
      }
      b.dp(new DpSettings(true, eps, delta != null ? delta : cur.enabled() ? cur.delta() : 1e-5, sigma,
          clip != null ? clip : cur.enabled() ? cur.clipNorm() : 1.0,
          samplingRate != null ? samplingRate : cur.enabled() ? cur.samplingRate() : Double.NaN));
    }
    return b;
  }

}

package org.cloister.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.cloister.simulations.FederatedSimulation;
import org.cloister.simulations.ResultsWriter;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cloister demo}: the demo study on the embedded breast-cancer data. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {
        "Runs a federated study on one machine: a coordinator gRPC server on loopback and one site agent per",
        "virtual hospital, each holding its own partition of the Wisconsin Diagnostic Breast Cancer data",
        "(569 patients, shipped with Cloister). Prints one line per round and writes results.json and rounds.csv."})
final class DemoCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--rounds", defaultValue = "10", description = "Federated rounds (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--sites", defaultValue = "3", description = "Virtual hospitals (default: ${DEFAULT-VALUE}).")
  int sites;

  @Option(names = "--partition", defaultValue = "iid", description = "iid or dirichlet:ALPHA (default: ${DEFAULT-VALUE}).")
  String partition;

  @Option(names = "--model", defaultValue = "logreg", description = "logreg or mlp (default: ${DEFAULT-VALUE}).")
  String model;

  @Option(names = "--local-epochs", defaultValue = "2", description = "Local epochs per round (default: ${DEFAULT-VALUE}).")
  int localEpochs;

  @Option(names = "--batch-size", defaultValue = "16", description = "Local minibatch size (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--learning-rate", defaultValue = "0.1", description = "Local SGD learning rate (default: ${DEFAULT-VALUE}).")
  double learningRate;

  @Option(names = "--seed", defaultValue = "42", description = "Seed for splits, initialization and sampling (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--out", defaultValue = "out/demo", description = "Output folder (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--json", description = "Print results.json to standard output instead of progress lines.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter o = spec.commandLine().getOut();
    SimulationConfig cfg;
    try {
      SimulationConfig d = SimulationConfig.demo(out);
      cfg = new SimulationConfig(d.studyId(), d.dataset(), d.labelColumn(), sites, partition, rounds, localEpochs,
          batchSize, learningRate, model, d.testFraction(), seed, d.roundDeadline(), Math.min(d.minSitesPerRound(), sites), out);
      org.cloister.models.ModelZoo.byName(model);
      org.cloister.data.Partitioners.parse(partition);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (!json) {
      o.printf(Locale.ROOT, "Cloister demo: %d hospitals, %s partition of WDBC (569 patients), model %s, %d rounds%n",
          sites, partition, model, rounds);
      o.println("(non-private baseline: updates are plaintext FedAvg over gRPC on loopback)");
      o.flush();
    }
    SimulationResult result = new FederatedSimulation(cfg, r -> {
      if (!json) {
        o.println(progressLine(r, rounds, sites));
        o.flush();
      }
    }).run();
    ResultsWriter writer = new ResultsWriter();
    Path file = writer.write(result, out);
    if (json) {
      o.println(writer.toJson(result));
    } else {
      o.printf(Locale.ROOT, "Study %s: %s in %.1f s%n", cfg.studyId(), result.status(), result.wallMillis() / 1000.0);
      for (var s : result.sites()) {
        o.printf(Locale.ROOT, "  %-8s %4d training examples, contributed to %d rounds%n", s.id(), s.examples(), s.roundsContributed());
      }
      o.printf(Locale.ROOT, "Final global model on %d held-out patients: accuracy %.4f, AUC %.4f%n",
          result.finalMetrics().examples(), result.finalMetrics().accuracy(), result.finalMetrics().auc());
      o.println("Results: " + file + " and " + file.resolveSibling("rounds.csv"));
    }
    o.flush();
    return result.status().startsWith("finished") ? 0 : 1;
  }

  static String progressLine(RoundReport r, int totalRounds, int totalSites) {
    return String.format(Locale.ROOT, "round %2d/%d  sites %d/%d  accuracy %.4f  auc %.4f  loss %.4f  (%.1f s)%s",
        r.round(), totalRounds, r.sites().size(), totalSites, r.accuracy(), r.auc(), r.loss(), r.durationMillis() / 1000.0,
        r.leftOut().isEmpty() ? "" : "  left out: " + r.leftOut().keySet());
  }
}

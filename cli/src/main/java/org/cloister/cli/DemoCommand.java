package org.cloister.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.cloister.simulations.ScenarioLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code cloister demo}: the shipped demo scenario ({@code examples/demo.yaml}). */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Runs the demo study: virtual hospitals (three by default) train on the shipped breast-cancer data with DP-SGD.",
        "Runs the demo study (examples/demo.yaml) on this machine: a coordinator gRPC server on loopback and "
        + "one site agent per virtual hospital, each holding its own partition of the Wisconsin Diagnostic "
        + "Breast Cancer data (569 patients, shipped with Cloister). Prints one line per round; writes "
        + "results.json and rounds.csv.",
        "Any simulate flag overrides the scenario's value."})
final class DemoCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Mixin
  SimulationOptions options = new SimulationOptions();

  @Option(names = "--json", description = "Print results.json to standard output instead of progress lines.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CommandLine cl = spec.commandLine();
    var b = new ScenarioLoader().loadBuiltin("demo");
    if (options.out != null) {
      try {
        RunFolders.requireNoEarlierRun(options.out);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(cl, e.getMessage());
      }
    }
    Path own = options.out == null ? RunFolders.next(Path.of("out"), "demo", java.time.Clock.systemUTC()) : null;
    if (own != null) { // every run its own folder; out/demo links to the latest
      b.outDir(own);
    }
    try {
      return SimulationRun.run(cl, SimulationRun.build(cl, options.applyTo(b)), json);
    } finally {
      if (own != null) {
        RunFolders.linkLatest(Path.of("out"), "demo", own);
      }
    }
  }
}

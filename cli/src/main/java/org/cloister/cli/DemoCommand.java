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
    description = {
        "Runs the demo study (examples/demo.yaml) on this machine: a coordinator gRPC server on loopback and one",
        "site agent per virtual hospital, each holding its own partition of the Wisconsin Diagnostic Breast Cancer",
        "data (569 patients, shipped with Cloister). Prints one line per round; writes results.json and rounds.csv.",
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
    var b = new ScenarioLoader().loadBuiltin("demo").outDir(Path.of("out/demo"));
    return SimulationRun.run(cl, SimulationRun.build(cl, options.applyTo(b)), json);
  }
}

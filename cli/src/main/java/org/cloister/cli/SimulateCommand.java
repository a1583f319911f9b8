package org.cloister.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.cloister.simulations.ScenarioLoader;
import org.cloister.simulations.SimulationConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code cloister simulate [SCENARIO.yaml] [flags]}: a whole study with virtual hospitals on this machine. */
@Command(name = "simulate", mixinStandardHelpOptions = true,
    description = {
        "Simulates a study with virtual hospitals through the same code paths as a deployment (coordinator gRPC",
        "server on loopback, one site agent per hospital). The scenario file is optional; flags override it."})
final class SimulateCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Parameters(arity = "0..1", paramLabel = "SCENARIO.yaml", description = "Scenario file (see examples/).")
  Path scenario;

  @Mixin
  SimulationOptions options = new SimulationOptions();

  @Option(names = "--json", description = "Print results.json to standard output instead of progress lines.")
  boolean json;

  @Option(names = "--mode", paramLabel = "in-process|processes", defaultValue = "in-process",
      description = "in-process (default): every party in this JVM; processes: as deployed, `coordinator start` "
          + "and one `site start` per hospital as separate processes from provisioned kits (needs a DP budget).")
  String mode;

  @Override
  public Integer call() throws Exception {
    CommandLine cl = spec.commandLine();
    SimulationConfig.Builder b;
    try {
      b = scenario == null ? SimulationConfig.builder().studyId("simulation") : new ScenarioLoader().load(scenario);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
    if (options.out == null) {
      b.outDir(Path.of("out", scenario == null ? "simulation" : scenario.getFileName().toString().replaceFirst("\\.ya?ml$", "")));
    }
    if (!mode.equals("in-process") && !mode.equals("processes")) {
      throw new CommandLine.ParameterException(cl, "--mode must be in-process or processes, got '" + mode + "'");
    }
    return SimulationRun.run(cl, SimulationRun.build(cl, options.applyTo(b)), json, mode.equals("processes"));
  }
}

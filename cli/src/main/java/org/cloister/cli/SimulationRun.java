package org.cloister.cli;

import java.nio.file.Path;
import org.cloister.cli.processes.ProcessSimulation;
import org.cloister.data.Partitioners;
import org.cloister.models.ModelZoo;
import org.cloister.simulations.FederatedSimulation;
import org.cloister.simulations.ResultsWriter;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import picocli.CommandLine;

/** Validates a simulation config (usage errors name the flag), runs it and prints it. Shared by demo and simulate. */
final class SimulationRun {
  private SimulationRun() {
  }

  static SimulationConfig build(CommandLine cl, SimulationConfig.Builder b) {
    try {
      SimulationConfig cfg = b.build();
      ModelZoo.byName(cfg.model());
      Partitioners.parse(cfg.partition());
      return cfg;
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
  }

  static int run(CommandLine cl, SimulationConfig cfg, boolean json) throws Exception {
    return run(cl, cfg, json, false);
  }

  /** @param processes each site a {@code site start} process against a {@code coordinator start} process */
  static int run(CommandLine cl, SimulationConfig cfg, boolean json, boolean processes) throws Exception {
    if (processes) {
      try {
        ProcessSimulation.requireSupported(cfg);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(cl, e.getMessage());
      }
    }
    StudyPrinter p = new StudyPrinter(cl.getOut(), json);
    p.header(cfg);
    SimulationResult result;
    try {
      result = processes ? new ProcessSimulation(cfg, r -> p.round(r, cfg)).run()
          : new FederatedSimulation(cfg, r -> p.round(r, cfg)).run();
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
    Path written = new ResultsWriter().write(result, cfg.outDir());
    p.summary(result, written);
    return result.status().startsWith("finished") ? 0 : 1;
  }
}

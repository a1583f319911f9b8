package org.cloister.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.cloister.cli.service.CoordinatorService;
import org.cloister.cli.service.SiteService;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cloister coordinator start} and {@code cloister site start}: the deployed services. */
final class ServiceCommands {
  private ServiceCommands() {
  }

  @Command(name = "coordinator", mixinStandardHelpOptions = true, description = "The coordinator service.",
      subcommands = CoordinatorCommand.Start.class)
  static final class CoordinatorCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (start)");
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
        description = "Runs the study in coordinator.yaml (mTLS gRPC, durable state, metrics); resumes it after a restart.")
    static final class Start implements Callable<Integer> {
      @CommandLine.Spec
      CommandLine.Model.CommandSpec spec;

      @Option(names = "--config", required = true, paramLabel = "coordinator.yaml",
          description = "The coordinator's configuration from its provisioned kit (docs/schemas/coordinator.md).")
      Path config;

      @Option(names = org.cloister.consortium.inference.SimulationOnly.ALLOW_FLAG,
          description = "Start from a simulation's directory anyway (its models carry no privacy guarantee).")
      boolean allowSimulationModel;

      @Override
      public Integer call() throws Exception {
        refuseSimulationOutput(spec, config, allowSimulationModel);
        try {
          return new CoordinatorService(config, spec.commandLine().getOut(), spec.commandLine().getErr()).run();
        } catch (IllegalArgumentException | java.nio.file.NoSuchFileException e) {
          throw new ConfigFileError(spec.commandLine(), describe(e));
        } catch (IllegalStateException e) {
          // e.g. an enclave that is not the one the kit expects, a database of another study
          spec.commandLine().getErr().println("coordinator: " + e.getMessage());
          spec.commandLine().getErr().flush();
          return 1;
        }
      }
    }
  }

  @Command(name = "site", mixinStandardHelpOptions = true, description = "The site agent service.",
      subcommands = SiteCommand.Start.class)
  static final class SiteCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (start)");
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
        description = "Joins the study with site.yaml's certificate and trains on the local data until the study ends.")
    static final class Start implements Callable<Integer> {
      @CommandLine.Spec
      CommandLine.Model.CommandSpec spec;

      @Option(names = "--config", required = true, paramLabel = "site.yaml",
          description = "The site's configuration from its provisioned kit (docs/schemas/site.md).")
      Path config;

      @Option(names = org.cloister.consortium.inference.SimulationOnly.ALLOW_FLAG,
          description = "Start from a simulation's directory anyway (its models carry no privacy guarantee).")
      boolean allowSimulationModel;

      @Override
      public Integer call() throws Exception {
        refuseSimulationOutput(spec, config, allowSimulationModel);
        try {
          return new SiteService(config, spec.commandLine().getOut(), spec.commandLine().getErr()).run();
        } catch (IllegalArgumentException | java.nio.file.NoSuchFileException | org.cloister.data.DataFormatException e) {
          throw new ConfigFileError(spec.commandLine(), describe(e));
        }
      }
    }
  }

  /**
   * What is wrong in a configuration file (or the data it names): exit 2 like a usage error, but one line naming the
   * file and the key, without the command's synopsis (the arguments were right).
   */
  static final class ConfigFileError extends CommandLine.ParameterException {
    ConfigFileError(CommandLine cl, String message) {
      super(cl, message);
    }
  }

  static String describe(Exception e) {
    return e instanceof java.nio.file.NoSuchFileException ? "no such file: " + e.getMessage() : e.getMessage();
  }

  /**
   * Services never start from a simulation's output (models trained with seeded noise): a config
   * under a directory marked {@code SIMULATION-ONLY} is refused unless explicitly allowed.
   */
  static void refuseSimulationOutput(CommandLine.Model.CommandSpec spec, Path config, boolean allowed) {
    java.util.Optional<Path> marker = org.cloister.consortium.inference.SimulationOnly.find(config);
    if (marker.isEmpty()) {
      return;
    }
    if (!allowed) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          org.cloister.consortium.inference.SimulationOnly.refusal("the directory of " + config, marker.get()));
    }
    spec.commandLine().getErr().println("WARNING: starting from a simulation's directory (" + marker.get()
        + "): its models carry NO privacy guarantee");
  }
}

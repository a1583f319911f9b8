package org.cloister.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code cloister bench ...}: benchmarks that report ratios against a baseline measured in the same run. */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Benchmarks (each reports ratios against a baseline measured in the same run).",
    subcommands = {
        BenchPrivacyCommand.class,
        BenchDpsgdCommand.class,
        BenchAggregateCommand.class,
        BenchRoundCommand.class,
        BenchInferCommand.class,
        BenchSimulateCommand.class,
    })
final class BenchCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing benchmark name");
  }
}

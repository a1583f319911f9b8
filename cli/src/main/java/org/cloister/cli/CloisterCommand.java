package org.cloister.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code cloister} command. Each capability is a subcommand. */
@Command(name = "cloister",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Privacy-preserving federated learning across hospitals.",
    subcommands = {
        DemoCommand.class,
        BenchCommand.class,
        PrivacyCommand.class,
        CommandLine.HelpCommand.class,
    })
public final class CloisterCommand implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
  }

  /** Builds the command line with the project's conventions (usage errors exit 2). */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new CloisterCommand());
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    return cl;
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}

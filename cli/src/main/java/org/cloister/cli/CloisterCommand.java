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
        SimulateCommand.class,
        AuditCommand.class,
        SyntheaCommand.class,
        ProvisionCommand.class,
        ServiceCommands.CoordinatorCommand.class,
        ServiceCommands.SiteCommand.class,
        StudyCommand.Status.class,
        StudyCommand.class,
        LedgerCommand.class,
        ReceiptsCommand.class,
        BudgetCommand.class,
        BenchCommand.class,
        AttestCommand.class,
        PrivacyCommand.class,
        EnclaveCommand.class,
        BrokerCommand.class,
        InferCommand.class,
        ModelCommand.class,
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
    cl.setParameterExceptionHandler(CloisterCommand::usageError);
    return cl;
  }

  /** A usage error: what is wrong, suggestions, the synopsis, and where to read more; exit code 2. */
  private static int usageError(CommandLine.ParameterException ex, String[] args) {
    CommandLine cmd = ex.getCommandLine();
    java.io.PrintWriter err = cmd.getErr();
    err.println(cmd.getColorScheme().errorText(ex.getMessage()));
    CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
    err.print(cmd.getHelp().fullSynopsis());
    err.printf("Try '%s --help' for more information.%n", cmd.getCommandSpec().qualifiedName());
    err.flush();
    return cmd.getCommandSpec().exitCodeOnInvalidInput();
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}

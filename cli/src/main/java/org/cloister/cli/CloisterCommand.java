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

  @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
      description = "On an error, print the Java stack trace as well (otherwise one line says what went wrong).")
  boolean verbose;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
  }

  /** Builds the command line with the project's conventions (usage errors exit 2). */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new CloisterCommand());
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setParameterExceptionHandler(CloisterCommand::usageError);
    cl.setExecutionExceptionHandler(CloisterCommand::executionError);
    return cl;
  }

  /**
   * A failure while a command runs (a bad file, a value that does not parse, an address in use): one
   * line naming the command and what went wrong, exit code 1; the stack trace only with {@code --verbose}.
   */
  private static int executionError(Exception ex, CommandLine cmd, CommandLine.ParseResult parsed) {
    java.io.PrintWriter err = cmd.getErr();
    String command = cmd.getCommandSpec().qualifiedName(" ");
    err.println(command + ": " + describe(ex));
    if (parsed.originalArgs().contains("--verbose")) {
      ex.printStackTrace(err);
    } else {
      err.println("(" + command + " --verbose ... prints the stack trace)");
    }
    err.flush();
    return cmd.getCommandSpec().exitCodeOnExecutionException();
  }

  /** What went wrong, in one line: the message, or what the exception's type means when it has none. */
  static String describe(Throwable ex) {
    Throwable t = ex;
    // wrappers that add nothing: take what they wrap
    while ((t instanceof java.util.concurrent.ExecutionException || t instanceof java.lang.reflect.InvocationTargetException
        || t instanceof java.io.UncheckedIOException || (t instanceof RuntimeException && t.getMessage() != null
        && t.getCause() != null && t.getMessage().equals(t.getCause().toString()))) && t.getCause() != null) {
      t = t.getCause();
    }
    String m = t.getMessage();
    String line;
    if (t instanceof java.nio.file.NoSuchFileException e) {
      line = "no such file: " + e.getFile();
    } else if (t instanceof java.nio.file.AccessDeniedException e) {
      line = "permission denied: " + e.getFile();
    } else if (t instanceof java.nio.file.FileAlreadyExistsException e) {
      line = "already exists: " + e.getFile();
    } else if (t instanceof java.net.BindException || (m != null && m.contains("Address already in use"))) {
      line = "cannot bind the address: " + (m == null ? "in use" : m) + " (another process holds the port: stop it or "
          + "choose another port)";
    } else if (m == null || m.isBlank()) {
      line = t.getClass().getSimpleName();
    } else {
      line = m;
    }
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String rm = root.getMessage() == null ? "" : root.getMessage();
    // Netty's native transport reports a failed bind as its own IOException ("bind(..) failed: ..."), not a BindException
    boolean bind = root instanceof java.net.BindException || rm.startsWith("bind(") || rm.contains("Address already in use")
        || rm.contains("Cannot assign requested address");
    if (root != t && bind && !line.contains(rm)) {
      line += ": cannot bind the address: " + rm + (rm.contains("in use")
          ? " (another process holds the port: stop it or choose another port)"
          : rm.contains("assign") ? " (not an address of this host: listen on 0.0.0.0:PORT or one of its own addresses)"
          : "");
    }
    return line.lines().findFirst().orElse(line);
  }

  /** A usage error: what is wrong, suggestions, the synopsis, and where to read more; exit code 2. */
  private static int usageError(CommandLine.ParameterException ex, String[] args) {
    CommandLine cmd = ex.getCommandLine();
    java.io.PrintWriter err = cmd.getErr();
    if (ex instanceof ServiceCommands.ConfigFileError) {
      err.println(cmd.getCommandSpec().qualifiedName(" ") + ": " + ex.getMessage()); // one line: the arguments were right
      err.flush();
      return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }
    err.println(cmd.getColorScheme().errorText(ex.getMessage()));
    CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
    err.print(cmd.getHelp().fullSynopsis());
    err.printf("Try '%s --help' for more information.%n", cmd.getCommandSpec().qualifiedName());
    err.flush();
    return cmd.getCommandSpec().exitCodeOnInvalidInput();
  }

  /** The commands that run as services (command and subcommand): every line they print carries its time. */
  private static final java.util.Set<String> SERVICES = java.util.Set.of("coordinator start", "site start", "broker run",
      "enclave run", "infer serve");

  /** Whether {@code args} (the command line) start a service: its first two arguments that are not options. */
  static boolean isService(String[] args) {
    String command = String.join(" ", java.util.Arrays.stream(args).filter(a -> !a.startsWith("-")).limit(2).toList());
    return SERVICES.contains(command);
  }

  /**
   * For a service command, every line it prints on standard output and error (its progress lines, its SLF4J log
   * lines, the lines of the child processes it forwards) begins with an ISO 8601 timestamp with the UTC offset,
   * written by one formatter ({@link ServiceLog}); SLF4J's simple logger adds none of its own (unless the JVM was
   * told to, {@code -Dorg.slf4j.simpleLogger.showDateTime}). Set before the first logger is made. A last line without
   * its newline is written when the JVM exits. Interactive
   * commands ({@code simulate}, {@code status}, {@code budget report}, ...) print their results without one.
   */
  static void timestampServiceLogs(String[] args) {
    if (!isService(args)) {
      return;
    }
    if (System.getProperty("org.slf4j.simpleLogger.showDateTime") == null) {
      System.setProperty("org.slf4j.simpleLogger.showDateTime", "false");
    }
    java.time.Clock clock = java.time.Clock.systemDefaultZone();
    ServiceLog.Stamped out = ServiceLog.timestamping(System.out, clock);
    ServiceLog.Stamped err = ServiceLog.timestamping(System.err, clock);
    System.setOut(out);
    System.setErr(err);
    // the end of the streams as the JVM exits (System.exit, the end of main, SIGTERM): a last line left without its
    // newline is written, not lost
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      out.endOfStream();
      err.endOfStream();
    }, "service-log-end"));
  }

  public static void main(String[] args) {
    timestampServiceLogs(args);
    System.exit(commandLine().execute(args));
  }
}

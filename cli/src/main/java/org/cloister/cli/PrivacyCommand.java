package org.cloister.cli;

import org.cloister.cli.privacy.CalibrateCommand;
import org.cloister.cli.privacy.DeltaCommand;
import org.cloister.cli.privacy.EpsilonCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code cloister privacy ...}: differential-privacy accounting for DP-SGD. */
@Command(name = "privacy", mixinStandardHelpOptions = true,
    description = {"Differential-privacy accounting for DP-SGD (Poisson-sampled Gaussian mechanism, add-or-remove-one "
        + "adjacency). See docs/privacy-accounting.md."},
    subcommands = {EpsilonCommand.class, DeltaCommand.class, CalibrateCommand.class})
public final class PrivacyCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "missing subcommand: epsilon, delta or calibrate");
  }
}

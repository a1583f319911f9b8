package org.cloister.cli;

import org.cloister.cli.attest.AttestVerifyCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code cloister attest ...}: attestation document tools. */
@Command(name = "attest", mixinStandardHelpOptions = true,
    description = "Attestation documents of trusted execution environments.",
    subcommands = {
        AttestVerifyCommand.class,
        org.cloister.cli.attest.AttestCollateralCommand.class,
    })
final class AttestCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (verify, collateral)");
  }
}

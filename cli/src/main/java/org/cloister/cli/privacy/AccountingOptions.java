package org.cloister.cli.privacy;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Options shared by the privacy subcommands: which accountant, and the output format. */
public final class AccountingOptions {

  @Option(names = "--accountant", defaultValue = "rdp", paramLabel = "rdp|pld",
      description = "Accountant: rdp (Rényi DP, fast) or pld (privacy loss distributions, tighter). Default: ${DEFAULT-VALUE}.")
  AccountantKind accountant;

  @Option(names = "--json", description = "Print one JSON object instead of a sentence.")
  boolean json;

  /** Throws a usage error (exit code 2) naming {@code option} unless {@code ok}. */
  static void require(CommandLine.Model.CommandSpec spec, boolean ok, String option, String rule, Object value) {
    if (!ok) {
      throw new CommandLine.ParameterException(spec.commandLine(), option + " must be " + rule + ", got " + value);
    }
  }

  static void checkSamplingRate(CommandLine.Model.CommandSpec spec, double q) {
    require(spec, q > 0 && q <= 1, "--sampling-rate", "in (0, 1]", q);
  }

  static void checkDelta(CommandLine.Model.CommandSpec spec, double delta) {
    require(spec, delta > 0 && delta < 1, "--delta", "in (0, 1)", delta);
  }

  static void checkSteps(CommandLine.Model.CommandSpec spec, long steps) {
    require(spec, steps >= 0, "--steps", ">= 0", steps);
  }
}

package org.cloister.cli.privacy;

import org.cloister.dp.accounting.Calibration;
import org.cloister.dp.accounting.PrivacyAccountant;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The DP-SGD mechanism shared by {@code privacy epsilon} and {@code privacy delta}: Q, S and T. */
final class MechanismOptions {
  @Option(names = "--sampling-rate", required = true, paramLabel = "Q",
      description = "Poisson sampling probability per step, in (0, 1]; 1 means no subsampling.")
  double samplingRate;

  @Option(names = "--noise-multiplier", required = true, paramLabel = "S",
      description = "Noise standard deviation divided by the clipping norm, > 0.")
  double noiseMultiplier;

  @Option(names = "--steps", required = true, paramLabel = "T", description = "Number of steps, >= 0.")
  long steps;

  /** Usage errors (exit 2) naming the option. */
  void validate(CommandLine.Model.CommandSpec spec) {
    AccountingOptions.checkSamplingRate(spec, samplingRate);
    AccountingOptions.require(spec, noiseMultiplier > 0 && Double.isFinite(noiseMultiplier),
        "--noise-multiplier", "a finite number > 0", noiseMultiplier);
    AccountingOptions.checkSteps(spec, steps);
  }

  /** {@code accountant} after T steps of PoissonSampled(Q, Gaussian(S)); an event it refuses is a usage error. */
  PrivacyAccountant compose(CommandLine.Model.CommandSpec spec, PrivacyAccountant accountant) {
    try {
      return accountant.compose(Calibration.dpSgdStep(samplingRate, noiseMultiplier), steps);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }
}

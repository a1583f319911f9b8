package org.cloister.cli.privacy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import org.cloister.dp.accounting.Calibration;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code cloister privacy calibrate}: the smallest noise multiplier meeting a target. */
@Command(name = "calibrate", mixinStandardHelpOptions = true,
    description = "Smallest noise multiplier for which T steps at sampling rate Q are (E, D)-DP.")
public final class CalibrateCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--target-epsilon", required = true, paramLabel = "E", description = "Target epsilon, > 0.")
  double targetEpsilon;

  @Option(names = "--delta", required = true, paramLabel = "D", description = "Target delta, in (0, 1).")
  double delta;

  @Option(names = "--sampling-rate", required = true, paramLabel = "Q",
      description = "Poisson sampling probability per step, in (0, 1]; 1 means no subsampling.")
  double samplingRate;

  @Option(names = "--steps", required = true, paramLabel = "T", description = "Number of steps, >= 0.")
  long steps;

  @Mixin
  AccountingOptions options;

  @Override
  public Integer call() {
    AccountingOptions.require(spec, targetEpsilon > 0 && Double.isFinite(targetEpsilon),
        "--target-epsilon", "a finite number > 0", targetEpsilon);
    AccountingOptions.checkDelta(spec, delta);
    AccountingOptions.checkSamplingRate(spec, samplingRate);
    AccountingOptions.checkSteps(spec, steps);
    // RDP: tolerance 1e-6; PLD evaluations are costlier, 1e-4 (still rounded up, so safe)
    Calibration calibration = new Calibration(options.accountant::create,
        options.accountant == AccountantKind.RDP ? 1e-6 : 1e-4);
    double sigma;
    try {
      sigma = calibration.noiseMultiplier(targetEpsilon, delta, samplingRate, steps);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    double achieved = steps == 0 ? 0
        : options.accountant.create().compose(Calibration.dpSgdStep(samplingRate, sigma), steps).epsilon(delta);
    ObjectNode node = Output.object();
    node.put("accountant", options.accountant.label());
    Output.put(node, "noise_multiplier", sigma);
    Output.put(node, "epsilon", achieved);
    Output.put(node, "delta", delta);
    Output.put(node, "target_epsilon", targetEpsilon);
    Output.put(node, "sampling_rate", samplingRate);
    node.put("steps", steps);
    Output.print(spec, options.json, node, String.format(java.util.Locale.ROOT,
        "noise multiplier = %s gives epsilon = %s <= %s at delta = %s (%s accountant) for %d steps, sampling rate %s",
        Output.up(sigma), Output.up(achieved), Output.format(targetEpsilon), Output.up(delta),
        options.accountant.label().toUpperCase(), steps, Output.format(samplingRate)));
    return 0;
  }
}

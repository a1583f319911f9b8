package org.cloister.cli.privacy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.accounting.rdp.RdpGuarantee;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code cloister privacy delta}: the delta of DP-SGD at a given epsilon. */
@Command(name = "delta", mixinStandardHelpOptions = true,
    description = "Delta of DP-SGD (Poisson sampling rate Q, noise multiplier S, T steps) at epsilon E.")
public final class DeltaCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Mixin
  MechanismOptions mechanism;

  @Option(names = "--epsilon", required = true, paramLabel = "E", description = "Epsilon, >= 0.")
  double epsilon;

  @Mixin
  AccountingOptions options;

  @Override
  public Integer call() {
    mechanism.validate(spec);
    AccountingOptions.require(spec, epsilon >= 0 && Double.isFinite(epsilon), "--epsilon", "a finite number >= 0", epsilon);
    PrivacyAccountant accountant = mechanism.compose(spec, options.accountant.create());
    ObjectNode node = Output.object();
    node.put("accountant", options.accountant.label());
    String order = "";
    Output.put(node, "epsilon", epsilon);
    if (accountant instanceof RdpAccountant rdp) {
      RdpGuarantee g = rdp.deltaAndOrder(epsilon);
      Output.put(node, "delta", g.delta());
      Output.put(node, "optimal_order", g.optimalOrder());
      order = ", optimal RDP order " + Output.format(g.optimalOrder());
    } else {
      Output.put(node, "delta", accountant.delta(epsilon));
    }
    Output.print(spec, options.json, node, String.format(java.util.Locale.ROOT,
        "delta = %s at epsilon = %s (%s accountant%s) for %d steps, sampling rate %s, noise multiplier %s",
        Output.up(node.get("delta").asDouble()), Output.format(epsilon), options.accountant.label().toUpperCase(),
        order, mechanism.steps, Output.format(mechanism.samplingRate), Output.format(mechanism.noiseMultiplier)));
    return 0;
  }
}

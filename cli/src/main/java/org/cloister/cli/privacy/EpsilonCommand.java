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

/** {@code cloister privacy epsilon}: the epsilon spent by DP-SGD at a given delta. */
@Command(name = "epsilon", mixinStandardHelpOptions = true,
    description = "Epsilon of DP-SGD (Poisson sampling rate Q, noise multiplier S, T steps) at delta D.")
public final class EpsilonCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Mixin
  MechanismOptions mechanism;

  @Option(names = "--delta", required = true, paramLabel = "D", description = "Target delta, in (0, 1).")
  double delta;

  @Mixin
  AccountingOptions options;

  @Override
  public Integer call() {
    mechanism.validate(spec);
    AccountingOptions.checkDelta(spec, delta);
    PrivacyAccountant accountant = mechanism.compose(spec, options.accountant.create());
    ObjectNode node = Output.object();
    node.put("accountant", options.accountant.label());
    String order = "";
    if (accountant instanceof RdpAccountant rdp) {
      RdpGuarantee g = rdp.epsilonAndOrder(delta);
      Output.put(node, "epsilon", g.epsilon());
      Output.put(node, "delta", delta);
      Output.put(node, "optimal_order", g.optimalOrder());
      order = ", optimal RDP order " + Output.format(g.optimalOrder());
    } else {
      Output.put(node, "epsilon", accountant.epsilon(delta));
      Output.put(node, "delta", delta);
    }
    Output.print(spec, options.json, node, String.format(java.util.Locale.ROOT,
        "epsilon = %s at delta = %s (%s accountant%s) for %d steps, sampling rate %s, noise multiplier %s",
        Output.up(node.get("epsilon").asDouble()), Output.up(delta), options.accountant.label().toUpperCase(),
        order, mechanism.steps, Output.format(mechanism.samplingRate), Output.format(mechanism.noiseMultiplier)));
    return 0;
  }
}

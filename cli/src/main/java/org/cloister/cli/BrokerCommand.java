package org.cloister.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.cloister.broker.KeyBrokerMain;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code cloister broker run}: the key broker process. */
@Command(name = "broker", mixinStandardHelpOptions = true,
    description = "The key broker (like a cloud KMS): releases data keys only to attested enclaves.",
    subcommands = {BrokerCommand.Run.class})
final class BrokerCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (run)");
  }

  @Command(name = "run", mixinStandardHelpOptions = true,
      description = {
          "Runs the key broker until stopped. Options: --keystore KS.p12 --keystore-password-file FILE",
          "--policies POLICIES.json --tls-cert CHAIN.pem --tls-key KEY.pem --audit-log AUDIT.jsonl",
          "--admin-token-file FILE [--attestation-root DEV_ROOT.pem] [--listen 127.0.0.1:0] [--exit-with-parent]"})
  static final class Run implements Callable<Integer> {
    @CommandLine.Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
      return KeyBrokerMain.run(args.toArray(String[]::new), System.out, System.err);
    }
  }
}

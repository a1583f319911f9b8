package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cloister.simulations.bench.RoundBenchmark;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code cloister bench round}: the coordinator's overhead per round (everything but local
 * training) for N in-process sites and P parameters on loopback, with the secure aggregation stack
 * and with the plaintext baseline in the same run.
 */
@Command(name = "round", mixinStandardHelpOptions = true,
    description = {"Measures the time per federated round (no local training) with secure aggregation against plaintext.",
        "Measures the time per federated round without local training: N site agents (threads) over mTLS gRPC "
        + "on loopback, whose trainer returns a precomputed random delta of P float32 parameters at once; the "
        + "real round engine, SQLite store, signed privacy ledger, and aggregation through the attested enclave "
        + "and key broker processes (HPKE-sealed updates), then the same study with plaintext aggregation in "
        + "the coordinator.",
        "A transport-only baseline runs first: the same bytes (a P-float model down, a P-float update up per "
        + "client)",
        "through the same gRPC/mTLS stack with no Cloister logic. Reports median and p90 over R measured "
        + "rounds after warm-up rounds, a breakdown, and the ratios secure/plaintext (target <= 1.25) and "
        + "plaintext/transport (target <= 1.3)."})
final class BenchRoundCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--sites", paramLabel = "N", defaultValue = "10", description = "Site agents (default ${DEFAULT-VALUE}).")
  int sites;

  @Option(names = "--params", paramLabel = "P", defaultValue = "1000000", description = "Parameters per update (default ${DEFAULT-VALUE}).")
  int params;

  @Option(names = "--rounds", paramLabel = "R", defaultValue = "10", description = "Measured rounds (default ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--warmup", paramLabel = "W", defaultValue = "2", description = "Warm-up rounds, not measured (default ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CommandLine cl = spec.commandLine();
    RoundBenchmark.Options opts;
    try {
      opts = new RoundBenchmark.Options(sites, params, rounds, warmup, 42);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
    PrintWriter err = cl.getErr();
    Map<String, Object> r = new RoundBenchmark(opts, line -> {
      if (!json) {
        err.println(line);
        err.flush();
      }
    }).runBoth();
    PrintWriter o = cl.getOut();
    if (json) {
      o.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
    } else {
      o.printf(Locale.ROOT, "sites %d, params %d (%.1f MiB per update), %d measured rounds, %d processors%n",
          sites, params, params * 4.0 / (1 << 20), rounds, Runtime.getRuntime().availableProcessors());
      for (String mode : new String[] {"secure", "plaintext"}) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) r.get(mode);
        o.printf(Locale.ROOT, "%-9s round %s  open->close %s  aggregate %s  persist %s  seal(max site) %s  open model(max site) %s%n",
            mode, fmt(m.get("round_ms")), fmt(m.get("open_to_close_ms")), fmt(m.get("aggregate_ms")),
            fmt(m.get("persist_ms")), fmt(m.get("site_seal_max_ms")), fmt(m.get("site_open_model_max_ms")));
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> t = (Map<String, Object>) r.get("transport");
      o.printf(Locale.ROOT, "%-9s round %s (the same bytes over the same mTLS channels, no Cloister logic)%n",
          "transport", fmt(t.get("round_ms")));
      o.printf(Locale.ROOT, "ratio secure/plaintext (median round): %s (target <= %s); plaintext/transport: %s (target <= %s)%n",
          r.get("ratio_secure_plaintext_median_round"), r.get("target_ratio_secure_plaintext"),
          r.get("plaintext_over_transport"), r.get("target_plaintext_over_transport"));
    }
    o.flush();
    return 0;
  }

  @SuppressWarnings("unchecked")
  private static String fmt(Object stats) {
    Map<String, Object> s = (Map<String, Object>) stats;
    return "median " + s.get("median") + " ms / p90 " + s.get("p90") + " ms";
  }
}

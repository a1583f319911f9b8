package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cloister.simulations.bench.SimulationBenchmark;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cloister bench simulate}: a simulation engine's round time against the sites' pure training time, in one run. */
@Command(name = "simulate", mixinStandardHelpOptions = true,
    description = {"Measures simulation throughput on a synthetic study: updates per second and round time per engine.",
        "Runs a synthetic study (WDBC-sized feature space: 30 features, 2 classes; E examples per site; one "
        + "local epoch of DP-SGD within epsilon 3 per site) on an engine, then trains the same sites with the "
        + "same trainer called directly on the same number of threads (the limit). Reports site_updates_per_s, "
        + "round_ms (median, round 1 excluded), training_ms and engine_over_training = round_ms / training_ms, "
        + "and the heap's peak."})
final class BenchSimulateCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--sites", paramLabel = "N", defaultValue = "1000", description = "Virtual sites (default ${DEFAULT-VALUE}).")
  int sites;

  @Option(names = "--rounds", paramLabel = "R", defaultValue = "5", description = "Rounds (default ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--engine", paramLabel = "inprocess|grpc|spark", defaultValue = "inprocess",
      description = "The engine (default ${DEFAULT-VALUE}).")
  String engine;

  @Option(names = "--model", paramLabel = "logreg|mlp", defaultValue = "logreg", description = "Model (default ${DEFAULT-VALUE}).")
  String model;

  @Option(names = "--examples", paramLabel = "E", defaultValue = "100", description = "Examples per site (default ${DEFAULT-VALUE}).")
  int examples;

  @Option(names = "--workers", paramLabel = "W", defaultValue = "0", description = "Worker threads (default: the cores).")
  int workers;

  @Option(names = "--master", paramLabel = "URL", defaultValue = "local[2]", description = "spark: the master (default ${DEFAULT-VALUE}).")
  String master;

  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CommandLine cl = spec.commandLine();
    SimulationBenchmark.Options opts;
    Path out = Files.createTempDirectory("cloister-bench-simulate-");
    try {
      opts = new SimulationBenchmark.Options(sites, rounds, engine, model, examples,
          workers > 0 ? workers : Runtime.getRuntime().availableProcessors(), master, out);
      org.cloister.models.ModelZoo.byName(model);
      org.cloister.simulations.engine.SimulationEngine.named(engine, workers, master);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
    PrintWriter err = cl.getErr();
    Map<String, Object> r;
    try {
      r = new SimulationBenchmark(opts, line -> {
        if (!json) {
          err.println(line);
          err.flush();
        }
      }).run();
    } finally {
      try (var files = Files.walk(out)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    PrintWriter o = cl.getOut();
    if (json) {
      o.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
    } else {
      o.printf(Locale.ROOT, "engine %s, %s, %d sites x %d examples, %d rounds, %d workers, %d processors%n", r.get("engine"),
          r.get("model"), sites, examples, rounds, r.get("workers"), r.get("processors"));
      o.printf(Locale.ROOT, "round_ms (median) %s  training_ms %s  engine_over_training %s  site_updates_per_s %s%n",
          r.get("round_ms"), r.get("training_ms"), r.get("engine_over_training"), r.get("site_updates_per_s"));
      o.printf(Locale.ROOT, "peak heap %s MiB of %s MiB; final accuracy %s, max epsilon %s%n", r.get("peak_heap_mib"),
          r.get("max_heap_mib"), r.get("final_accuracy"), r.get("max_epsilon"));
    }
    o.flush();
    return 0;
  }
}

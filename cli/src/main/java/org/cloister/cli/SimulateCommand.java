package org.cloister.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.cloister.simulations.DpSettings;
import org.cloister.simulations.ScenarioLoader;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.Sweep;
import org.cloister.simulations.SweepAxis;
import org.cloister.simulations.SimulationData;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code cloister simulate [SCENARIO.yaml] [flags]}: a whole study with virtual hospitals on this machine. */
@Command(name = "simulate", mixinStandardHelpOptions = true,
    description = {"Simulates a study with virtual hospitals through the same code paths as a deployment (coordinator "
        + "gRPC server on loopback, one site agent per hospital).",
        "The scenario file is optional; flags override it."})
final class SimulateCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Parameters(arity = "0..1", paramLabel = "SCENARIO.yaml", description = "Scenario file (see examples/).")
  Path scenario;

  @Mixin
  SimulationOptions options = new SimulationOptions();

  @Option(names = "--audit-canaries", paramLabel = "M", defaultValue = "0",
      description = "After the study, audit each site's DP-SGD with M gradient canaries (docs/privacy-audit.md); "
          + "the result goes into results.json and the report.")
  int auditCanaries;

  @Option(names = "--json", description = "Print results.json to standard output instead of progress lines.")
  boolean json;

  @Option(names = "--mode", paramLabel = "in-process|processes", defaultValue = "in-process",
      description = "in-process (default): every party in this JVM; processes: as deployed, `coordinator start` "
          + "and one `site start` per hospital as separate processes from provisioned kits (needs a DP budget).")
  String mode;

  @Option(names = "--engine", paramLabel = "grpc|inprocess|spark", defaultValue = "grpc",
      description = {"grpc (default): every party real over loopback (mTLS, the enclave and key broker processes); "
          + "inprocess: the same round engine, trainer, accountant and enclave arithmetic, virtual sites as tasks "
          + "on --workers threads (thousands of sites); spark: the simulations-spark module "
          + "(docs/simulations.md)."})
  String engine;

  @Option(names = "--workers", paramLabel = "N", defaultValue = "0",
      description = "inprocess: sites that train at the same time (default: the cores); spark: site partitions"
          + " (default: Spark's default parallelism).")
  int workers;

  @Option(names = "--secure-aggregation",
      description = "inprocess: sites seal their updates (HPKE) and sign contribution statements, aggregated by the"
          + " enclave's own verifier and session in this process (a fidelity check; grpc always does this, with the"
          + " enclave as its own process).")
  boolean secureAggregation;

  @Option(names = "--master", paramLabel = "URL", defaultValue = "",
      description = "spark: the Spark master (local[*], local[2], spark://HOST:7077); default: the one spark-submit set,"
          + " else local[*].")
  String master;

  @Option(names = "--sweep", paramLabel = "NAME=V1,V2,...",
      description = {"Runs the study for each value (repeat for a grid) and writes a privacy-utility table (sweep.csv, "
          + "sweep.json).",
          "NAME: epsilon, sites, alpha, clip, noise_multiplier, sampling_rate, learning_rate, rounds, "
          + "local_steps, local_epochs, batch_size or seed. Example: --sweep epsilon=0.5,1,2,4,8"})
  List<String> sweep = new ArrayList<>();

  @Option(names = "--report", paramLabel = "FILE",
      description = "Writes a self-contained HTML report (charts of accuracy/AUC per round, epsilon per site, the privacy-utility curve of a sweep).")
  Path report;

  static final double DEFAULT_EPSILON = 3.0;
  static final double DEFAULT_DELTA = 1e-5;
  static final double DEFAULT_CLIP = 1.0;

  private boolean sweepSetsDp() {
    return sweep.stream().anyMatch(a -> a.startsWith("epsilon=") || a.startsWith("noise_multiplier="));
  }

  @Override
  public Integer call() throws Exception {
    CommandLine cl = spec.commandLine();
    SimulationConfig.Builder b;
    try {
      b = scenario == null ? SimulationConfig.builder().studyId("simulation") : new ScenarioLoader().load(scenario);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
    String name = scenario == null ? "simulation" : scenario.getFileName().toString().replaceFirst("\\.ya?ml$", "");
    Path own = null;
    if (options.out == null) { // every run its own folder; out/NAME links to the latest
      own = RunFolders.next(Path.of("out"), name, java.time.Clock.systemUTC());
      b.outDir(own);
      if (report != null) { // --report out/NAME/report.html: beside this run's results, where out/NAME will link
        report = RunFolders.intoRun(Path.of("out"), name, own, report);
      }
    } else {
      try {
        RunFolders.requireNoEarlierRun(options.out);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(cl, e.getMessage());
      }
    }
    try {
      return runIn(cl, b);
    } finally {
      if (own != null) {
        RunFolders.linkLatest(Path.of("out"), name, own);
      }
    }
  }

  private Integer runIn(CommandLine cl, SimulationConfig.Builder b) throws Exception {
    if (!mode.equals("in-process") && !mode.equals("processes")) {
      throw new CommandLine.ParameterException(cl, "--mode must be in-process or processes, got '" + mode + "'");
    }
    boolean processes = mode.equals("processes");
    if (processes && !engine.equals("grpc")) {
      throw new CommandLine.ParameterException(cl, "--mode processes runs every party as deployed; --engine " + engine
          + " is for --mode in-process");
    }
    if (workers < 0) {
      throw new CommandLine.ParameterException(cl, "--workers must be >= 1 (or 0 for the cores), got " + workers);
    }
    org.cloister.simulations.engine.SimulationEngine chosen;
    try {
      if (secureAggregation && !engine.equals("inprocess")) {
        throw new IllegalArgumentException("--secure-aggregation is for --engine inprocess (grpc always aggregates sealed"
            + " updates in the enclave process; spark sums plaintext partial sums), got --engine " + engine);
      }
      chosen = secureAggregation ? org.cloister.simulations.engine.SimulationEngine.inprocess(workers, true)
          : org.cloister.simulations.engine.SimulationEngine.named(engine, workers, master);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
    try {
      options.applyTo(b);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
    if (scenario == null && options.dataset == null && sweep.stream().noneMatch(a -> a.startsWith("sites="))) {
      // no dataset chosen: the default (builtin:wdbc) holds a few hundred rows; more sites than rows get
      // the synthetic cohort with WDBC's feature space, said so, instead of a partitioning error
      String why = null;
      try {
        SimulationData.prepare(b.build());
      } catch (IllegalArgumentException e) {
        why = e.getMessage() != null && e.getMessage().contains("sites but only") ? e.getMessage() : null;
      }
      if (why != null) {
        b.dataset("synthetic:tail=0");
        cl.getErr().println("No dataset given and builtin:wdbc is too small (" + why + "): using --dataset synthetic:tail=0,"
            + " a generated cohort with WDBC's 30 features and 100 examples per site, each site generated when it trains"
            + " (docs/simulations.md); choose with --dataset.");
      }
    }
    if (!b.dpGiven() && !sweepSetsDp()) {
      // Private by default: a study without DP settings is never silently non-private.
      b.dp(DpSettings.budget(DEFAULT_EPSILON, DEFAULT_DELTA, DEFAULT_CLIP));
      cl.getErr().printf(java.util.Locale.ROOT, "No DP settings given: DP-SGD within epsilon %s at delta %s per site, clip %s (the default);"
          + " choose with --epsilon or --noise-multiplier, or --no-dp for the non-private baseline.%n",
          DEFAULT_EPSILON, DEFAULT_DELTA, DEFAULT_CLIP);
    }
    if (!sweep.isEmpty()) {
      if (processes) {
        throw new CommandLine.ParameterException(cl, "--sweep runs in-process only; drop --mode processes");
      }
      Sweep grid;
      try {
        grid = new Sweep(sweep.stream().map(SweepAxis::parse).toList());
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(cl, e.getMessage());
      }
      if (auditCanaries > 0) {
        throw new CommandLine.ParameterException(cl, "--audit-canaries runs with a single study, not a --sweep");
      }
      return SimulationRun.runSweep(cl, b, grid, json, report, chosen);
    }
    if (auditCanaries < 0 || auditCanaries == 1) {
      throw new CommandLine.ParameterException(cl, "--audit-canaries must be 0 (no audit) or >= 2, got " + auditCanaries);
    }
    return SimulationRun.run(cl, SimulationRun.build(cl, b), json, processes, report, auditCanaries, chosen);
  }
}

package org.cloister.simulations.engine;

import java.util.ServiceLoader;
import java.util.function.Consumer;
import org.cloister.simulations.FederatedSimulation;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationData;
import org.cloister.simulations.SimulationResult;

/**
 * How a simulated study is executed ({@code cloister simulate --engine NAME}): {@code grpc}, every
 * party real over loopback ({@link FederatedSimulation}); {@code inprocess}, virtual sites as tasks
 * on a worker pool ({@link InProcessSimulation}); {@code spark}, when the {@code simulations-spark}
 * module's jar is on the class path ({@link Provider}, found with {@link ServiceLoader}).
 */
public interface SimulationEngine {

  String name();

  SimulationResult run(SimulationConfig cfg, Consumer<RoundReport> progress) throws Exception;

  /** An engine outside this module (Spark stays off every other module's class path). */
  interface Provider {
    String name();

    SimulationEngine create(int workers, String master);
  }

  /**
   * The engine called {@code name}.
   *
   * @param workers sites that train at the same time (inprocess; spark: partitions), 0 for the cores
   * @param master  the Spark master URL (spark only), e.g. {@code local[2]}
   */
  static SimulationEngine named(String name, int workers, String master) {
    int w = workers > 0 ? workers : Runtime.getRuntime().availableProcessors();
    return switch (name) {
      case "grpc" -> new SimulationEngine() {
        @Override
        public String name() {
          return "grpc";
        }

        @Override
        public SimulationResult run(SimulationConfig cfg, Consumer<RoundReport> progress) throws Exception {
          return new FederatedSimulation(cfg, progress).run();
        }
      };
      case "inprocess" -> inprocess(w, false);
      default -> {
        for (Provider p : ServiceLoader.load(Provider.class)) {
          if (p.name().equals(name)) {
            yield p.create(workers, master);
          }
        }
        throw new IllegalArgumentException("--engine must be grpc, inprocess or spark, got '" + name + "'"
            + ("spark".equals(name) ? " (the spark engine needs the simulations-spark jar on the class path)" : ""));
      }
    };
  }

  /**
   * The {@code inprocess} engine on {@code workers} threads.
   *
   * @param secureAggregation sites seal their updates and sign contribution statements, and the
   *     enclave's verifier and aggregation session run in this process ({@link InProcessEnclave})
   */
  static SimulationEngine inprocess(int workers, boolean secureAggregation) {
    int w = workers > 0 ? workers : Runtime.getRuntime().availableProcessors();
    return new SimulationEngine() {
      @Override
      public String name() {
        return "inprocess";
      }

      @Override
      public SimulationResult run(SimulationConfig cfg, Consumer<RoundReport> progress) throws Exception {
        return new InProcessSimulation(cfg, source(cfg), InProcessSimulation.pool(w), progress, secureAggregation).run();
      }
    };
  }

  /** The sites' data: generated per site for a synthetic cohort, else the partitioned dataset. */
  static SiteSource source(SimulationConfig cfg) {
    if (SyntheticCohort.isSynthetic(cfg.dataset())) {
      if (!cfg.partition().equals("iid")) {
        SimulationData.prepare(cfg); // refuses with the reason
      }
      return SyntheticCohort.parse(cfg.dataset(), cfg.seed(), cfg.sites());
    }
    return SiteSource.of(SimulationData.prepare(cfg));
  }
}

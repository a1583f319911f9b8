package org.cloister.simulations.spark;

import java.util.function.Consumer;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import org.cloister.simulations.engine.InProcessSimulation;
import org.cloister.simulations.engine.SimulationEngine;

/**
 * The {@code spark} engine ({@code cloister simulate --engine spark --master URL}): the study's
 * round engine on the Spark driver, the virtual sites trained by Spark tasks ({@link SparkDispatcher}).
 */
public final class SparkSimulation implements SimulationEngine {
  private final String master;
  private final int partitions;

  /**
   * @param master     a Spark master URL: {@code local[*]}, {@code local[2]}, {@code spark://HOST:7077}; null or
   *                   empty for the one {@code spark-submit} set ({@code spark.master}), else {@code local[*]}
   * @param partitions site partitions (tasks per round), 0 for the cluster's default parallelism
   */
  public SparkSimulation(String master, int partitions) {
    if (partitions < 0) {
      throw new IllegalArgumentException("--workers must be >= 0 (0: Spark's default parallelism), got " + partitions);
    }
    this.master = master;
    this.partitions = partitions;
  }

  @Override
  public String name() {
    return "spark";
  }

  @Override
  public SimulationResult run(SimulationConfig cfg, Consumer<RoundReport> progress) throws Exception {
    SparkConf conf = new SparkConf().setAppName("cloister-simulate-" + cfg.studyId())
        .setIfMissing("spark.ui.enabled", "false")
        .setIfMissing("spark.ui.showConsoleProgress", "false");
    if (master != null && !master.isBlank()) {
      conf.setMaster(master);
    } else {
      conf.setIfMissing("spark.master", "local[*]");
    }
    if (conf.get("spark.master").startsWith("local")) {
      conf.setIfMissing("spark.driver.host", "127.0.0.1").setIfMissing("spark.driver.bindAddress", "127.0.0.1");
    }
    try (JavaSparkContext spark = new JavaSparkContext(conf)) {
      int p = partitions > 0 ? partitions : spark.defaultParallelism();
      return new InProcessSimulation(cfg, org.cloister.simulations.engine.SimulationEngine.source(cfg),
          new SparkDispatcher(spark, p), progress).run();
    }
  }

  /** Registers the engine under {@code spark} (META-INF/services). */
  public static final class Provider implements SimulationEngine.Provider {
    @Override
    public String name() {
      return "spark";
    }

    @Override
    public SimulationEngine create(int workers, String master) {
      return new SparkSimulation(master, workers);
    }
  }
}

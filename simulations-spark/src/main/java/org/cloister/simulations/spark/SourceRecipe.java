package org.cloister.simulations.spark;

import java.io.Serializable;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.engine.SimulationEngine;
import org.cloister.simulations.engine.SiteSource;
import org.cloister.simulations.engine.SyntheticCohort;

/**
 * How an executor gets the sites' data without the driver sending any rows: a synthetic cohort is
 * generated per site from the seed; a dataset is loaded and partitioned on the executor exactly as
 * on the driver (same file path, same seed: the same partitions).
 */
record SourceRecipe(String dataset, String labelColumn, int sites, String partition, double testFraction, long seed)
    implements Serializable {

  static SourceRecipe of(SimulationConfig cfg) {
    if (cfg.preprocessing() != null && !SyntheticCohort.isSynthetic(cfg.dataset())) {
      throw new IllegalArgumentException("--engine spark loads each partition's data on the executors and does not yet"
          + " apply a study preprocessing spec; use --engine inprocess for this study");
    }
    return new SourceRecipe(cfg.dataset(), cfg.labelColumn(), cfg.sites(), cfg.partition(), cfg.testFraction(), cfg.seed());
  }

  SiteSource open() {
    SimulationConfig cfg = SimulationConfig.builder().dataset(dataset).labelColumn(labelColumn).sites(sites)
        .partition(partition).testFraction(testFraction).seed(seed).minSitesPerRound(1).build();
    return SimulationEngine.source(cfg);
  }
}

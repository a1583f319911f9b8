package org.cloister.simulations;

import java.nio.file.Path;
import java.util.List;
import org.cloister.data.BadRowPolicy;
import org.cloister.data.BuiltinDatasets;
import org.cloister.data.CsvDatasetLoader;
import org.cloister.data.Dataset;
import org.cloister.data.Partitioners;
import org.cloister.data.Standardizer;
import org.cloister.data.TrainTestSplit;

/**
 * The data of a simulated study: a stratified test split held by the simulation, and the
 * training rows standardized with training statistics only and split over the sites.
 */
public record SimulationData(Dataset test, List<Dataset> sitePartitions) {

  public static SimulationData prepare(SimulationConfig cfg) {
    Dataset all = load(cfg.dataset(), cfg.labelColumn());
    TrainTestSplit split = TrainTestSplit.stratified(all, cfg.testFraction(), cfg.seed());
    Standardizer st = Standardizer.fit(split.train());
    Dataset train = st.apply(split.train());
    Dataset test = st.apply(split.test());
    List<Dataset> parts = Partitioners.parse(cfg.partition()).split(train, cfg.sites(), cfg.seed() + 1);
    return new SimulationData(test, parts);
  }

  static Dataset load(String spec, String label) {
    if (spec.equals("builtin:wdbc")) {
      return BuiltinDatasets.wdbc();
    }
    if (spec.startsWith("csv:")) {
      return new CsvDatasetLoader(label, BadRowPolicy.FAIL).load(Path.of(spec.substring(4))).dataset();
    }
    throw new IllegalArgumentException("unknown dataset '" + spec + "' (expected builtin:wdbc or csv:PATH)");
  }
}

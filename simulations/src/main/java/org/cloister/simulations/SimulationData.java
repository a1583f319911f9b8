package org.cloister.simulations;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.cloister.data.BadRowPolicy;
import org.cloister.data.BuiltinDatasets;
import org.cloister.data.CsvDatasetLoader;
import org.cloister.data.Dataset;
import org.cloister.data.MeanImputer;
import org.cloister.data.Partitioners;
import org.cloister.data.Standardizer;
import org.cloister.data.TrainTestSplit;
import org.cloister.data.synthea.SyntheaCohort;

/**
 * The data of a simulated study: a stratified test split held by the simulation, and the
 * training rows (missing values imputed and features standardized with training statistics only)
 * split over the sites.
 *
 * <p>Partition {@code by-site} keeps the hospitals a dataset comes from (a Synthea cohort with one
 * folder per site): each site trains on its own hospital's training rows.
 */
public record SimulationData(Dataset test, List<Dataset> sitePartitions) {
  /** The partition that keeps each row at the hospital it comes from. */
  public static final String BY_SITE = "by-site";
  private static final String SITE_COLUMN = "__site";

  public static SimulationData prepare(SimulationConfig cfg) {
    Source src = load(cfg.dataset(), cfg.labelColumn());
    boolean bySite = cfg.partition().equals(BY_SITE);
    Dataset all = src.dataset();
    if (bySite) {
      if (src.siteOfRow() == null) {
        throw new IllegalArgumentException("partition by-site needs a dataset with hospitals (synthea:DIR with one folder per site); "
            + cfg.dataset() + " has none");
      }
      if (src.siteNames().size() != cfg.sites()) {
        throw new IllegalArgumentException("partition by-site: " + cfg.dataset() + " has " + src.siteNames().size()
            + " site folders " + src.siteNames() + " but --sites is " + cfg.sites());
      }
      all = withColumn(all, SITE_COLUMN, src.siteOfRow());
    }
    TrainTestSplit split = TrainTestSplit.stratified(all, cfg.testFraction(), cfg.seed());
    Dataset trainRaw = split.train();
    Dataset testRaw = split.test();
    if (MeanImputer.hasMissing(trainRaw) || MeanImputer.hasMissing(testRaw)) {
      MeanImputer imp = MeanImputer.fit(trainRaw);
      trainRaw = imp.apply(trainRaw);
      testRaw = imp.apply(testRaw);
    }
    Standardizer st = Standardizer.fit(trainRaw);
    Dataset train = st.apply(trainRaw);
    Dataset test = st.apply(testRaw);
    if (!bySite) {
      List<Dataset> parts = Partitioners.parse(cfg.partition()).split(train, cfg.sites(), cfg.seed() + 1);
      return new SimulationData(test, parts);
    }
    int col = train.numFeatures() - 1;
    List<List<Integer>> rows = new ArrayList<>();
    for (int s = 0; s < cfg.sites(); s++) {
      rows.add(new ArrayList<>());
    }
    for (int i = 0; i < train.size(); i++) {
      rows.get((int) Math.round(trainRaw.features()[i][col])).add(i);
    }
    List<Dataset> parts = new ArrayList<>();
    for (int s = 0; s < cfg.sites(); s++) {
      if (rows.get(s).isEmpty()) {
        throw new IllegalArgumentException("partition by-site: site folder " + src.siteNames().get(s) + " has no training rows");
      }
      parts.add(withoutLastColumn(train.subset(rows.get(s).stream().mapToInt(Integer::intValue).toArray())));
    }
    return new SimulationData(withoutLastColumn(test), parts);
  }

  /** A loaded dataset and, when it has them, the hospital of each row. */
  record Source(Dataset dataset, int[] siteOfRow, List<String> siteNames) {
  }

  static Source load(String spec, String label) {
    if (spec.equals("builtin:wdbc")) {
      return new Source(BuiltinDatasets.wdbc(), null, List.of());
    }
    if (spec.startsWith("csv:")) {
      return new Source(new CsvDatasetLoader(label, BadRowPolicy.FAIL).load(Path.of(spec.substring(4))).dataset(), null, List.of());
    }
    if (spec.startsWith("synthea:")) {
      // the label is the outcome; "malignant" is the builder's default (the WDBC label), i.e. none given
      String outcome = label == null || label.equals("malignant") ? "diabetes" : label;
      SyntheaCohort.Cohort c = new SyntheaCohort(outcome).load(Path.of(spec.substring("synthea:".length())));
      return new Source(c.dataset(), c.siteOfRow(), c.siteNames());
    }
    throw new IllegalArgumentException("unknown dataset '" + spec + "' (expected builtin:wdbc, csv:PATH or synthea:DIR)");
  }

  private static Dataset withColumn(Dataset d, String name, int[] values) {
    List<String> names = new ArrayList<>(d.featureNames());
    names.add(name);
    double[][] f = new double[d.size()][];
    for (int i = 0; i < f.length; i++) {
      f[i] = java.util.Arrays.copyOf(d.features()[i], d.numFeatures() + 1);
      f[i][d.numFeatures()] = values[i];
    }
    return new Dataset(names, d.labelName(), d.classNames(), f, d.labels());
  }

  private static Dataset withoutLastColumn(Dataset d) {
    double[][] f = new double[d.size()][];
    for (int i = 0; i < f.length; i++) {
      f[i] = java.util.Arrays.copyOf(d.features()[i], d.numFeatures() - 1);
    }
    return new Dataset(d.featureNames().subList(0, d.numFeatures() - 1), d.labelName(), d.classNames(), f, d.labels());
  }
}

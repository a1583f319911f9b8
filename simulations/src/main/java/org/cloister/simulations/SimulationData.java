package org.cloister.simulations;

import org.cloister.data.DatasetSource;
import org.cloister.data.DatasetSources;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.cloister.data.BadRowPolicy;
import org.cloister.data.BuiltinDatasets;
import org.cloister.data.CsvDatasetLoader;
import org.cloister.data.Dataset;
import org.cloister.data.Preprocessing;
import org.cloister.data.PreprocessingSpec;
import org.cloister.data.PrivateFeatureStats;
import org.cloister.data.Partitioners;
import org.cloister.data.TrainTestSplit;
import org.cloister.data.synthea.SyntheaCohort;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.noise.SecureGaussianNoise;

/**
 * The data of a simulated study: a stratified test split held by the simulation, and the
 * training rows split over the sites, every row turned into model inputs by the study's
 * {@link PreprocessingSpec} record by record (never by statistics pooled over the rows).
 *
 * <p>The spec comes from the scenario ({@code preprocessing:}), else from the dataset (WDBC and
 * Synthea cohorts ship public bounds), else every feature is estimated privately: each site
 * releases its bounded statistics through the Gaussian mechanism ({@link PrivateFeatureStats},
 * noise multiplier from {@link DpPlanner#preprocessingNoise}), the releases are pooled into one
 * study transform, and {@link #preprocessingEvent()} is spent by every site in its first round.
 *
 * <p>Partition {@code by-site} keeps the hospitals a dataset comes from (a Synthea cohort with one
 * folder per site): each site trains on its own hospital's training rows.
 *
 * @param preprocessingEvent what each site's release cost ({@code null} when the spec is public)
 */
public record SimulationData(Dataset test, List<Dataset> sitePartitions, DpEvent preprocessingEvent) {
  /** The partition that keeps each row at the hospital it comes from. */
  public static final String BY_SITE = "by-site";
  private static final String SITE_COLUMN = "__site";

  public static SimulationData prepare(SimulationConfig cfg) {
    if (org.cloister.simulations.engine.SyntheticCohort.isSynthetic(cfg.dataset())) {
      if (!cfg.partition().equals("iid")) {
        throw new IllegalArgumentException("partition " + cfg.partition() + ": a synthetic cohort is generated per site; set its"
            + " non-IID structure in the dataset spec (synthetic:label_skew=A,shift=S,tail=T), not with a partition");
      }
      var cohort = org.cloister.simulations.engine.SyntheticCohort.parse(cfg.dataset(), cfg.seed(), cfg.sites());
      return new SimulationData(cohort.test(), cohort.materialize(), null);
    }
    Source src = load(cfg.dataset(), cfg.labelColumn());
    boolean bySite = cfg.partition().equals(BY_SITE);
    Dataset all = src.dataset();
    List<String> features = all.featureNames();
    PreprocessingSpec spec = (cfg.preprocessing() != null ? cfg.preprocessing() : src.preprocessing()).orderedFor(features);
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
    Dataset train = split.train();
    Dataset test = split.test();
    List<Dataset> raw = new ArrayList<>();
    if (!bySite) {
      raw.addAll(Partitioners.parse(cfg.partition()).split(train, cfg.sites(), cfg.seed() + 1));
    } else {
      int col = train.numFeatures() - 1;
      List<List<Integer>> rows = new ArrayList<>();
      for (int s = 0; s < cfg.sites(); s++) {
        rows.add(new ArrayList<>());
      }
      for (int i = 0; i < train.size(); i++) {
        rows.get((int) Math.round(train.features()[i][col])).add(i);
      }
      for (int s = 0; s < cfg.sites(); s++) {
        if (rows.get(s).isEmpty()) {
          throw new IllegalArgumentException("partition by-site: site folder " + src.siteNames().get(s) + " has no training rows");
        }
        raw.add(withoutLastColumn(train.subset(rows.get(s).stream().mapToInt(Integer::intValue).toArray())));
      }
      test = withoutLastColumn(test);
    }
    Preprocessing prep;
    DpEvent event = null;
    if (spec.needsPrivateEstimate()) {
      double sigma = DpPlanner.preprocessingNoise(cfg);
      List<PrivateFeatureStats> releases = new ArrayList<>();
      for (int s = 0; s < raw.size(); s++) {
        releases.add(PrivateFeatureStats.release(raw.get(s), spec, sigma, SecureGaussianNoise.seeded(cfg.seed() * 1_000_033L + s)));
      }
      prep = PrivateFeatureStats.resolve(spec, features, releases);
      event = PrivateFeatureStats.event(sigma);
    } else {
      prep = spec.resolvePublic();
    }
    return new SimulationData(prep.apply(test), raw.stream().map(prep::apply).toList(), event);
  }

  /**
   * The model card of the study {@code cfg} runs (the scenario's or the dataset's feature rules, the
   * dataset's classes; WDBC's classes named benign and malignant), or null for a synthetic cohort
   * (no raw scale: its features are model inputs).
   */
  public static org.cloister.data.ModelCard modelCard(SimulationConfig cfg) {
    if (org.cloister.simulations.engine.SyntheticCohort.isSynthetic(cfg.dataset())) {
      return null;
    }
    Source src = load(cfg.dataset(), cfg.labelColumn());
    Dataset d = src.dataset();
    PreprocessingSpec spec = cfg.preprocessing() != null ? cfg.preprocessing() : src.preprocessing();
    List<String> names = cfg.dataset().equals("builtin:wdbc") ? List.of("benign", "malignant") : null;
    return org.cloister.data.ModelCard.of(cfg.studyId(), new org.cloister.data.StudySchema(d.featureNames(),
        d.labelName(), d.classNames()), spec, names);
  }

  /** A loaded dataset and, when it has them, the hospital of each row. */
  record Source(Dataset dataset, int[] siteOfRow, List<String> siteNames, PreprocessingSpec preprocessing) {
  }

  /** {@code spec} from the installed dataset sources (built-ins and plug-ins, {@link DatasetSources}). */
  static Source load(String spec, String label) {
    DatasetSource.Loaded l = DatasetSources.installed().load(spec, label);
    return new Source(l.dataset(), l.siteOfRow(), l.siteNames(), l.preprocessing());
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

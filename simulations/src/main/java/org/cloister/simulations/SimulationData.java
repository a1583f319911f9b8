package org.cloister.simulations;

import org.cloister.data.DatasetSource;
import org.cloister.data.DatasetSources;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.cloister.data.BadRowPolicy;
import org.cloister.data.BuiltinDatasets;
import org.cloister.data.CsvDatasetLoader;
import org.cloister.data.CsvLoadResult;
import org.cloister.data.CsvOptions;
import org.cloister.data.MissingRule;
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
 * @param rawSitePartitions  each site's rows before preprocessing, as the hospital's file holds them
 *                           (missing values filled by a {@code centre} rule still NaN); for a synthetic
 *                           cohort the same as {@code sitePartitions}
 * @param loadNotes          what reading the dataset skipped or filled in (rows dropped, values imputed)
 */
public record SimulationData(Dataset test, List<Dataset> sitePartitions, DpEvent preprocessingEvent,
                             List<Dataset> rawSitePartitions, List<String> loadNotes) {
  public SimulationData {
    sitePartitions = List.copyOf(sitePartitions);
    rawSitePartitions = List.copyOf(rawSitePartitions);
    loadNotes = List.copyOf(loadNotes);
  }

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
      List<Dataset> sites = cohort.materialize();
      return new SimulationData(cohort.test(), sites, null, sites, List.of());
    }
    Source src = load(cfg);
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
    return new SimulationData(prep.apply(test), raw.stream().map(prep::apply).toList(), event, raw, src.notes());
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
    Source src = load(cfg);
    Dataset d = src.dataset();
    PreprocessingSpec spec = cfg.preprocessing() != null ? cfg.preprocessing() : src.preprocessing();
    List<String> names = cfg.dataset().equals("builtin:wdbc") ? List.of("benign", "malignant") : null;
    return org.cloister.data.ModelCard.of(cfg.studyId(), new org.cloister.data.StudySchema(d.featureNames(),
        d.labelName(), d.classNames()), spec, names);
  }

  /**
   * What reading {@code cfg}'s dataset skips or fills in (rows dropped by a {@code skip} rule, values
   * filled by {@code centre} or {@code constant:V}): empty for a file without missing values.
   */
  public static List<String> loadNotes(SimulationConfig cfg) {
    return org.cloister.simulations.engine.SyntheticCohort.isSynthetic(cfg.dataset()) ? List.of() : load(cfg).notes();
  }

  /** A loaded dataset, when it has them the hospital of each row, and what loading skipped or filled. */
  record Source(Dataset dataset, int[] siteOfRow, List<String> siteNames, PreprocessingSpec preprocessing, List<String> notes) {
  }

  /**
   * The study's dataset from the installed dataset sources (built-ins and plug-ins, {@link DatasetSources});
   * a {@code csv:} file read with the study's {@link CsvOptions}, which no other source takes.
   */
  static Source load(SimulationConfig cfg) {
    String spec = cfg.dataset();
    CsvOptions o = cfg.csv();
    if (spec.startsWith("csv:")) {
      Path file = Path.of(spec.substring(4));
      CsvLoadResult r = CsvDatasetLoader.inferringClasses(cfg.labelColumn(), BadRowPolicy.FAIL).withOptions(o).load(file);
      List<String> notes = new ArrayList<>();
      if (!r.skippedRows().isEmpty()) {
        notes.add(String.format(java.util.Locale.ROOT, "skipped %d row(s) of %s with a missing value (first: %s)",
            r.skippedRows().size(), file.getFileName(), r.skippedRows().get(0).getMessage()));
      }
      r.filled().forEach((col, n) -> notes.add(String.format(java.util.Locale.ROOT,
          "filled %d missing value(s) of '%s' with its %s", n, col, o.ruleFor(col).kind() == MissingRule.Kind.CENTRE
              ? "centre (the study's declared or DP-released constant)" : "declared " + o.ruleFor(col))));
      Dataset d = r.dataset();
      return new Source(d, null, List.of(), PreprocessingSpec.privateDefault(d.featureNames()), notes);
    }
    if (!o.equals(CsvOptions.DEFAULT)) {
      throw new IllegalArgumentException("the csv options (delimiter, ignore_columns, missing values) read a csv:PATH "
          + "dataset; " + spec + " is not one: remove them");
    }
    DatasetSource.Loaded l = DatasetSources.installed().load(spec, cfg.labelColumn());
    return new Source(l.dataset(), l.siteOfRow(), l.siteNames(), l.preprocessing(), List.of());
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

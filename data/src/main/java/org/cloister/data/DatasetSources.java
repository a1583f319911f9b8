package org.cloister.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import org.cloister.data.synthea.SyntheaCohort;

/** The installed dataset sources by scheme: the built-ins and every {@link DatasetSource} plug-in. */
public final class DatasetSources {
  private final Map<String, DatasetSource> byScheme;

  /** @throws IllegalArgumentException when two sources serve one scheme */
  public DatasetSources(Iterable<? extends DatasetSource> sources) {
    Map<String, DatasetSource> m = new TreeMap<>();
    for (DatasetSource s : sources) {
      DatasetSource prev = m.put(s.scheme(), s);
      if (prev != null) {
        throw new IllegalArgumentException("two dataset sources serve '" + s.scheme() + ":': "
            + prev.getClass().getName() + " and " + s.getClass().getName());
      }
    }
    this.byScheme = Map.copyOf(m);
  }

  public static DatasetSources installed() {
    return new DatasetSources(ServiceLoader.load(DatasetSource.class, DatasetSources.class.getClassLoader()));
  }

  /** The schemes served, each as {@code scheme:}. */
  public List<String> schemes() {
    return byScheme.keySet().stream().map(s -> s + ":").toList();
  }

  /**
   * Loads {@code spec} ({@code SCHEME:ARGUMENT}).
   *
   * @throws IllegalArgumentException naming an unknown scheme and the installed ones
   */
  public DatasetSource.Loaded load(String spec, String label) {
    int colon = spec.indexOf(':');
    DatasetSource s = colon <= 0 ? null : byScheme.get(spec.substring(0, colon));
    if (s == null) {
      throw new IllegalArgumentException("unknown dataset '" + spec + "' (expected one of " + schemes() + " followed by "
          + "its argument, e.g. builtin:wdbc, csv:PATH, synthea:DIR)");
    }
    return s.load(spec.substring(colon + 1), label);
  }

  /** {@code builtin:wdbc}: the shipped Wisconsin Diagnostic Breast Cancer data, with public feature bounds. */
  public static final class Builtin implements DatasetSource {
    @Override
    public String scheme() {
      return "builtin";
    }

    @Override
    public Loaded load(String argument, String label) {
      if (!argument.equals("wdbc")) {
        throw new IllegalArgumentException("unknown built-in dataset 'builtin:" + argument + "' (the one built in: builtin:wdbc)");
      }
      return new Loaded(BuiltinDatasets.wdbc(), BuiltinDatasets.wdbcPreprocessing());
    }
  }

  /**
   * {@code csv:PATH}: the file defines the study (its labels are the study's classes); nothing is
   * declared about its features, so every one is estimated privately unless the scenario says otherwise.
   */
  public static final class Csv implements DatasetSource {
    @Override
    public String scheme() {
      return "csv";
    }

    @Override
    public Loaded load(String argument, String label) {
      Dataset d = CsvDatasetLoader.inferringClasses(label, BadRowPolicy.FAIL).load(Path.of(argument)).dataset();
      return new Loaded(d, PreprocessingSpec.privateDefault(d.featureNames()));
    }
  }

  /** {@code synthea:DIR}: a Synthea cohort, one row per patient; the label is the outcome (default diabetes). */
  public static final class Synthea implements DatasetSource {
    @Override
    public String scheme() {
      return "synthea";
    }

    @Override
    public Loaded load(String argument, String label) {
      // "malignant" is the simulation's default label (WDBC's), i.e. none given
      String outcome = label == null || label.equals("malignant") ? "diabetes" : label;
      SyntheaCohort.Cohort c = new SyntheaCohort(outcome).load(Path.of(argument));
      return new Loaded(c.dataset(), c.siteOfRow(), c.siteNames(), SyntheaCohort.preprocessing());
    }
  }
}

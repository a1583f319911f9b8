package org.cloister.data;

import java.util.List;

/**
 * Plug-in point for datasets a simulated study can name (docs/extending.md, "Add a dataset"): a
 * source serves specs {@code SCHEME:ARGUMENT} ({@code csv:PATH}, {@code synthea:DIR}, ...). Register
 * an implementation (public, no-argument constructor) in
 * {@code META-INF/services/org.cloister.data.DatasetSource}; {@link DatasetSources#installed()}
 * finds it with {@link java.util.ServiceLoader}.
 *
 * <p>A deployed site reads only its own CSV (`site.yaml`); sources serve simulations, which
 * partition one dataset among virtual sites.
 */
public interface DatasetSource {

  /** The scheme this source serves, without the colon ({@code csv}). */
  String scheme();

  /**
   * Loads {@code SCHEME:argument}.
   *
   * @param label the label column or outcome the study named, or null for the source's default
   * @throws IllegalArgumentException or {@link DataFormatException} naming what is wrong
   */
  Loaded load(String argument, String label);

  /**
   * A loaded dataset.
   *
   * @param siteOfRow     the hospital of each row (for partition {@code by-site}), or null
   * @param siteNames     the hospitals' names, index = value in {@code siteOfRow}
   * @param preprocessing the study's rule for each feature when the scenario gives none (bounds known
   *                      in public, or estimated privately at each site)
   */
  record Loaded(Dataset dataset, int[] siteOfRow, List<String> siteNames, PreprocessingSpec preprocessing) {
    public Loaded {
      siteNames = List.copyOf(siteNames);
    }

    /** A dataset without hospitals. */
    public Loaded(Dataset dataset, PreprocessingSpec preprocessing) {
      this(dataset, null, List.of(), preprocessing);
    }
  }
}

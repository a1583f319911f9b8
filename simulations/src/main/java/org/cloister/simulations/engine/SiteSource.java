package org.cloister.simulations.engine;

import java.util.ArrayList;
import java.util.List;
import org.cloister.data.Dataset;
import org.cloister.dp.events.DpEvent;
import org.cloister.simulations.SimulationData;

/**
 * Where the in-process engine's virtual sites get their data: a dataset partitioned once
 * ({@link #of(SimulationData)}), or data generated per site on whichever worker trains it
 * ({@link SyntheticCohort}), so that 10,000 sites need not be held at once.
 */
public interface SiteSource {
  int sites();

  /** The held-out test split the evaluator scores each global model on. */
  Dataset test();

  /** Site {@code site}'s example count (cheap: no data is generated). */
  int size(int site);

  /** Site {@code site}'s training rows (may be generated on each call, identically). */
  Dataset site(int site);

  /** What each site's private preprocessing release cost, or null when the study's preprocessing is public. */
  DpEvent preprocessingEvent();

  default List<Integer> sizes() {
    List<Integer> out = new ArrayList<>(sites());
    for (int s = 0; s < sites(); s++) {
      out.add(size(s));
    }
    return out;
  }

  static SiteSource of(SimulationData data) {
    return new SiteSource() {
      @Override
      public int sites() {
        return data.sitePartitions().size();
      }

      @Override
      public Dataset test() {
        return data.test();
      }

      @Override
      public int size(int site) {
        return data.sitePartitions().get(site).size();
      }

      @Override
      public Dataset site(int site) {
        return data.sitePartitions().get(site);
      }

      @Override
      public DpEvent preprocessingEvent() {
        return data.preprocessingEvent();
      }
    };
  }
}

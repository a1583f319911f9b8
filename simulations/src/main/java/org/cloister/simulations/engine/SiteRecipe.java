package org.cloister.simulations.engine;

import java.io.Serializable;
import org.cloister.simulations.SimulationConfig;

/**
 * What a virtual site needs to train, in a form that can be shipped to another process (a Spark
 * executor): the study, the seed its RNG streams derive from and its privacy settings.
 *
 * @param epsilon the site's own budget ceiling, NaN for none
 */
public record SiteRecipe(String studyId, long seed, boolean dp, double epsilon, double delta, boolean countPrivate)
    implements Serializable {

  public static SiteRecipe of(SimulationConfig cfg) {
    return new SiteRecipe(cfg.studyId(), cfg.seed(), cfg.dp().enabled(), cfg.dp().epsilon(),
        cfg.dp().enabled() ? cfg.dp().delta() : 1e-5, cfg.countPrivate());
  }
}

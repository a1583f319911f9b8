package org.cloister.dp.accounting;

import org.cloister.dp.events.ComposedEvent;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.NoOpEvent;
import org.cloister.dp.events.NonPrivateEvent;
import org.cloister.dp.events.SelfComposedEvent;

/**
 * Several Gaussian mechanisms run on the same (sampled) data are one Gaussian mechanism whose
 * precision {@code sigma^-2} is the sum of theirs (their noise is independent and each has
 * sensitivity 1). Accountants use this to interpret a Poisson-sampled composition of Gaussians.
 */
public final class GaussianPrecision {

  private GaussianPrecision() {
  }

  /**
   * The summed precision {@code sum sigma_i^-2} of an event made only of Gaussians (possibly
   * composed and self-composed; no-ops count 0); {@code +infinity} if it contains a Gaussian with
   * sigma 0 or a non-private event; {@code null} if the event has any other part.
   */
  public static Double of(DpEvent event) {
    if (event instanceof GaussianEvent g) {
      return g.noiseMultiplier() == 0 ? Double.POSITIVE_INFINITY
          : 1 / (g.noiseMultiplier() * g.noiseMultiplier());
    }
    if (event instanceof NoOpEvent) {
      return 0.0;
    }
    if (event instanceof NonPrivateEvent) {
      return Double.POSITIVE_INFINITY;
    }
    if (event instanceof SelfComposedEvent s) {
      Double inner = of(s.event());
      return inner == null ? null : (s.count() == 0 ? 0.0 : s.count() * inner);
    }
    if (event instanceof ComposedEvent c) {
      double sum = 0;
      for (DpEvent e : c.events()) {
        Double inner = of(e);
        if (inner == null) {
          return null;
        }
        sum += inner;
      }
      return sum;
    }
    return null;
  }
}

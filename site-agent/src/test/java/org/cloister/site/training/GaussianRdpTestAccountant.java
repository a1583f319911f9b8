package org.cloister.site.training;

import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.accounting.UnsupportedEventException;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.PoissonSampledEvent;
import org.cloister.dp.events.SelfComposedEvent;

/**
 * TEST ONLY: accountant for the (non-subsampled) Gaussian mechanism with its exact closed-form
 * RDP, alpha / (2 sigma^2) per release, composed additively, converted with
 * eps = min_{alpha > 1} [rdp(alpha) + log(1/delta) / (alpha - 1)], whose minimum is closed-form:
 * with rho = sum 1/(2 sigma^2), eps = rho + 2 sqrt(rho log(1/delta)).
 * A Poisson-sampled Gaussian is bounded by its unsampled Gaussian (sampling only amplifies privacy),
 * which is a valid, if loose, upper bound.
 */
final class GaussianRdpTestAccountant implements PrivacyAccountant {
  private double rho; // RDP(alpha) = alpha * rho
  private long events;

  @Override
  public boolean supports(DpEvent event) {
    return event instanceof GaussianEvent
        || (event instanceof PoissonSampledEvent p && supports(p.event()))
        || (event instanceof SelfComposedEvent s && supports(s.event()));
  }

  @Override
  public PrivacyAccountant compose(DpEvent event, long count) {
    if (!supports(event)) {
      throw new UnsupportedEventException("test-gaussian", event);
    }
    if (event instanceof PoissonSampledEvent p) {
      return compose(p.event(), count);
    }
    if (event instanceof SelfComposedEvent s) {
      return compose(s.event(), count * s.count());
    }
    double sigma = ((GaussianEvent) event).noiseMultiplier();
    rho += sigma == 0 ? Double.POSITIVE_INFINITY : count / (2 * sigma * sigma);
    events += count;
    return this;
  }

  @Override
  public double epsilon(double delta) {
    return epsilonFor(rho, delta);
  }

  static double epsilonFor(double rho, double delta) {
    if (rho == 0) {
      return 0;
    }
    return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
  }

  @Override
  public double delta(double epsilon) {
    throw new UnsupportedOperationException("not needed in tests");
  }

  @Override
  public PrivacyAccountant copy() {
    GaussianRdpTestAccountant c = new GaussianRdpTestAccountant();
    c.rho = rho;
    c.events = events;
    return c;
  }

  long events() {
    return events;
  }
}

package org.cloister.coordinator.strategy;

/**
 * FedProx (Li et al. 2020, "Federated Optimization in Heterogeneous Networks"): the sites are
 * chosen as in FedAvg, and each minimizes its loss plus the proximal term
 * {@code (mu/2) * ||w - w_round||^2}, which keeps its local model near the round's global model
 * when hospitals' data differ (non-IID). The term is applied by the site's trainer (it depends on
 * no patient data, so under DP-SGD it is post-processing and costs no privacy); aggregation is the
 * example-weighted mean, as in FedAvg.
 */
public final class FedProxStrategy implements Strategy {
  /** The proximal coefficient used when none is given. */
  public static final double DEFAULT_MU = 0.01;

  private final double mu;
  private final Strategy selection = new FedAvgStrategy();

  /** @param mu the proximal coefficient, > 0 and finite */
  public FedProxStrategy(double mu) {
    if (!(mu > 0) || !Double.isFinite(mu)) {
      throw new IllegalArgumentException("fedprox mu must be > 0 and finite, got " + mu);
    }
    this.mu = mu;
  }

  public double mu() {
    return mu;
  }

  @Override
  public String name() {
    return "fedprox";
  }

  @Override
  public RoundPlan configureRound(RoundContext context) {
    RoundPlan plan = selection.configureRound(context);
    return new RoundPlan(plan.sites(), plan.config().toBuilder().setProximalMu(mu).build());
  }
}

package org.cloister.examples.strategy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.cloister.aggregation.strategy.AggregationRule;
import org.cloister.aggregation.strategy.ServerStep;
import org.cloister.aggregation.strategy.StrategySpec;

/**
 * The enclave's half of FedAvgM (Hsu et al. 2019, "Measuring the Effects of Non-Identical Data
 * Distribution"): the round's weighted mean update {@code d} feeds a server momentum buffer
 * {@code b = momentum * b + d}, and the model moves by {@code server_lr * b}. The buffer is derived
 * from updates, so it lives only in the aggregator's memory.
 */
public final class FedAvgMRule implements AggregationRule {

  @Override
  public String name() {
    return "fedavgm";
  }

  @Override
  public Map<String, Double> defaults() {
    Map<String, Double> d = new LinkedHashMap<>();
    d.put("momentum", 0.9); // first: `fedavgm:0.5` sets it
    d.put("server_lr", 1.0);
    d.put("lr_decay", 1.0); // read by the planner
    return d;
  }

  @Override
  public void check(StrategySpec spec) {
    double m = spec.get("momentum");
    if (!(m >= 0 && m < 1)) {
      throw new IllegalArgumentException("strategy fedavgm: momentum must be in [0, 1), got " + m);
    }
    if (!(spec.get("server_lr") > 0)) {
      throw new IllegalArgumentException("strategy fedavgm: server_lr must be > 0, got " + spec.get("server_lr"));
    }
    double decay = spec.get("lr_decay");
    if (!(decay > 0 && decay <= 1)) {
      throw new IllegalArgumentException("strategy fedavgm: lr_decay must be in (0, 1], got " + decay);
    }
  }

  @Override
  public ServerStep serverStep(StrategySpec spec, int dimension) {
    double momentum = spec.get("momentum");
    double lr = spec.get("server_lr");
    double[] buffer = new double[dimension];
    return (global, delta) -> {
      float[] next = new float[global.length];
      for (int i = 0; i < next.length; i++) {
        buffer[i] = momentum * buffer[i] + delta[i];
        next[i] = (float) (global[i] + lr * buffer[i]);
      }
      return next;
    };
  }
}

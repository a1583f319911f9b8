package org.cloister.aggregation.strategy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** The built-in aggregation rules (registered in {@code META-INF/services}). */
public final class BuiltInRules {
  private BuiltInRules() {
  }

  static void requirePositive(StrategySpec spec, String key) {
    double v = spec.get(key);
    if (!(v > 0)) {
      throw new IllegalArgumentException("strategy " + spec.name() + ": " + key + " must be > 0, got " + v);
    }
  }

  static void requireUnit(StrategySpec spec, String key) {
    double v = spec.get(key);
    if (!(v >= 0 && v < 1)) {
      throw new IllegalArgumentException("strategy " + spec.name() + ": " + key + " must be in [0, 1), got " + v);
    }
  }

  /** Federated averaging (McMahan et al. 2017): the example-weighted mean, times the server learning rate. */
  public static final class FedAvg implements AggregationRule {
    @Override
    public String name() {
      return "fedavg";
    }

    @Override
    public Map<String, Double> defaults() {
      return Map.of("server_lr", 1.0);
    }

    @Override
    public void check(StrategySpec spec) {
      requirePositive(spec, "server_lr");
    }

    @Override
    public ServerStep serverStep(StrategySpec spec, int dimension) {
      return ServerStep.sgd(spec.get("server_lr"));
    }
  }

  /**
   * FedProx (Li et al. 2020): the sites add the proximal term {@code (mu/2)||w - w_round||^2} (the
   * coordinator's planner asks for it); the aggregator averages as FedAvg does.
   */
  public static final class FedProx implements AggregationRule {
    @Override
    public String name() {
      return "fedprox";
    }

    @Override
    public Map<String, Double> defaults() {
      Map<String, Double> d = new LinkedHashMap<>();
      d.put("mu", 0.01);
      d.put("server_lr", 1.0);
      return d;
    }

    @Override
    public void check(StrategySpec spec) {
      requirePositive(spec, "mu");
      requirePositive(spec, "server_lr");
    }

    @Override
    public ServerStep serverStep(StrategySpec spec, int dimension) {
      return ServerStep.sgd(spec.get("server_lr"));
    }
  }

  /**
   * FedAdam and FedYogi (Reddi et al., "Adaptive Federated Optimization", ICLR 2021, Algorithm 2):
   * the mean update is a pseudo-gradient; {@code m = b1 m + (1-b1) d}; Adam: {@code v = b2 v + (1-b2) d^2},
   * Yogi: {@code v = v - (1-b2) d^2 sign(v - d^2)}; {@code x += lr m / (sqrt(v) + tau)}; {@code v}
   * starts at {@code tau^2}, {@code m} at 0, without bias correction (as in the paper).
   */
  abstract static class Adaptive implements AggregationRule {
    private final boolean yogi;

    Adaptive(boolean yogi) {
      this.yogi = yogi;
    }

    @Override
    public Map<String, Double> defaults() {
      Map<String, Double> d = new LinkedHashMap<>();
      d.put("server_lr", 0.1);
      d.put("beta1", 0.9);
      d.put("beta2", 0.99);
      d.put("tau", 1e-3);
      return d;
    }

    @Override
    public void check(StrategySpec spec) {
      requirePositive(spec, "server_lr");
      requireUnit(spec, "beta1");
      requireUnit(spec, "beta2");
      requirePositive(spec, "tau");
    }

    @Override
    public ServerStep serverStep(StrategySpec spec, int dimension) {
      double lr = spec.get("server_lr");
      double beta1 = spec.get("beta1");
      double beta2 = spec.get("beta2");
      double tau = spec.get("tau");
      double[] m = new double[dimension];
      double[] v = new double[dimension];
      Arrays.fill(v, tau * tau);
      return (global, delta) -> {
        float[] out = new float[global.length];
        for (int i = 0; i < out.length; i++) {
          double d = delta[i];
          double d2 = d * d;
          m[i] = beta1 * m[i] + (1 - beta1) * d;
          v[i] = yogi ? v[i] - (1 - beta2) * d2 * Math.signum(v[i] - d2) : beta2 * v[i] + (1 - beta2) * d2;
          out[i] = (float) (global[i] + lr * m[i] / (Math.sqrt(v[i]) + tau));
        }
        return out;
      };
    }
  }

  public static final class FedAdam extends Adaptive {
    public FedAdam() {
      super(false);
    }

    @Override
    public String name() {
      return "fedadam";
    }
  }

  public static final class FedYogi extends Adaptive {
    public FedYogi() {
      super(true);
    }

    @Override
    public String name() {
      return "fedyogi";
    }
  }

  /**
   * Coordinate-wise median (Yin et al. 2018, "Byzantine-Robust Distributed Learning"): each
   * coordinate of the combined delta is the median of the sites' values (the mean of the two middle
   * ones for an even count); example counts are ignored.
   */
  public static final class Median implements AggregationRule {
    @Override
    public String name() {
      return "median";
    }

    @Override
    public Map<String, Double> defaults() {
      return Map.of("server_lr", 1.0);
    }

    @Override
    public void check(StrategySpec spec) {
      requirePositive(spec, "server_lr");
    }

    @Override
    public Optional<UpdateCombiner> combiner(StrategySpec spec) {
      return Optional.of((updates, count, dimension) -> trimmedMean(updates, count, dimension, (count - 1) / 2));
    }

    @Override
    public ServerStep serverStep(StrategySpec spec, int dimension) {
      return ServerStep.sgd(spec.get("server_lr"));
    }
  }

  /**
   * Coordinate-wise trimmed mean (Yin et al. 2018): for each coordinate, the {@code floor(trim * n)}
   * largest and smallest of the n sites' values are dropped and the rest averaged; {@code trim} is
   * in [0, 0.5).
   */
  public static final class TrimmedMean implements AggregationRule {
    @Override
    public String name() {
      return "trimmed_mean";
    }

    @Override
    public Map<String, Double> defaults() {
      Map<String, Double> d = new LinkedHashMap<>();
      d.put("trim", 0.1);
      d.put("server_lr", 1.0);
      return d;
    }

    @Override
    public void check(StrategySpec spec) {
      double t = spec.get("trim");
      if (!(t >= 0 && t < 0.5)) {
        throw new IllegalArgumentException("strategy trimmed_mean: trim must be in [0, 0.5), got " + t);
      }
      requirePositive(spec, "server_lr");
    }

    @Override
    public Optional<UpdateCombiner> combiner(StrategySpec spec) {
      double trim = spec.get("trim");
      return Optional.of((updates, count, dimension) ->
          trimmedMean(updates, count, dimension, (int) Math.floor(trim * count)));
    }

    @Override
    public ServerStep serverStep(StrategySpec spec, int dimension) {
      return ServerStep.sgd(spec.get("server_lr"));
    }
  }

  /** Per coordinate: sort the values, drop {@code k} at each end, average the rest in double precision. */
  static float[] trimmedMean(float[][] updates, int count, int dimension, int k) {
    if (count < 1) {
      throw new IllegalArgumentException("no updates to combine");
    }
    float[] column = new float[count];
    float[] out = new float[dimension];
    int kept = count - 2 * k;
    for (int i = 0; i < dimension; i++) {
      for (int j = 0; j < count; j++) {
        column[j] = updates[j][i];
      }
      Arrays.sort(column);
      double s = 0;
      for (int j = k; j < count - k; j++) {
        s += column[j];
      }
      out[i] = (float) (s / kept);
    }
    Arrays.fill(column, 0f);
    return out;
  }
}

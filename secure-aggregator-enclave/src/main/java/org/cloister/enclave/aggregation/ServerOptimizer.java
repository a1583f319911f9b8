package org.cloister.enclave.aggregation;

import org.cloister.enclave.AggregationPolicy.ServerOptimizerSpec;

/**
 * The server step: turns the (noised) mean update into the next global model. FedAvg adds it
 * scaled by the server learning rate; FedAdam and FedYogi (Reddi et al., "Adaptive Federated
 * Optimization", ICLR 2021, Algorithm 2) treat it as a pseudo-gradient with adaptive moments.
 * Adaptive optimizers keep their moments in enclave memory only (they are derived from updates).
 */
public abstract class ServerOptimizer {

  /** Returns the next global weights; {@code global} and {@code meanDelta} are not modified. */
  public abstract float[] step(float[] global, float[] meanDelta);

  public static ServerOptimizer of(ServerOptimizerSpec spec, int dimension) {
    return switch (spec.name()) {
      case "fedavg" -> new FedAvgStep(spec.learningRate());
      case "fedadam" -> new Adaptive(spec, dimension, false);
      case "fedyogi" -> new Adaptive(spec, dimension, true);
      default -> throw new IllegalArgumentException("unknown server optimizer " + spec.name());
    };
  }

  static final class FedAvgStep extends ServerOptimizer {
    private final float lr;

    FedAvgStep(double lr) {
      this.lr = (float) lr;
    }

    @Override
    public float[] step(float[] global, float[] meanDelta) {
      float[] out = new float[global.length];
      for (int i = 0; i < out.length; i++) {
        out[i] = global[i] + lr * meanDelta[i];
      }
      return out;
    }
  }

  static final class Adaptive extends ServerOptimizer {
    private final double lr;
    private final double beta1;
    private final double beta2;
    private final double tau;
    private final boolean yogi;
    private final double[] m;
    private final double[] v;

    Adaptive(ServerOptimizerSpec spec, int dimension, boolean yogi) {
      this.lr = spec.learningRate();
      this.beta1 = spec.beta1();
      this.beta2 = spec.beta2();
      this.tau = spec.tau();
      this.yogi = yogi;
      this.m = new double[dimension];
      this.v = new double[dimension];
      java.util.Arrays.fill(v, tau * tau); // v_{-1} >= tau^2, as in the paper
    }

    @Override
    public float[] step(float[] global, float[] meanDelta) {
      float[] out = new float[global.length];
      for (int i = 0; i < out.length; i++) {
        double d = meanDelta[i];
        double d2 = d * d;
        m[i] = beta1 * m[i] + (1 - beta1) * d;
        if (yogi) {
          v[i] = v[i] - (1 - beta2) * d2 * Math.signum(v[i] - d2);
        } else {
          v[i] = beta2 * v[i] + (1 - beta2) * d2;
        }
        out[i] = (float) (global[i] + lr * m[i] / (Math.sqrt(v[i]) + tau));
      }
      return out;
    }
  }
}

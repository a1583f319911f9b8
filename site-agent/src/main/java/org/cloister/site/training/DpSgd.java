package org.cloister.site.training;

import java.util.Objects;
import org.cloister.dp.accounting.PrivacyAccountant;
import java.util.random.RandomGenerator;
import org.cloister.dp.noise.GridGaussian;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * Entry point: configures DP-SGD for an ordinary DL4J network and its updater (SGD, momentum,
 * Adam...), Opacus-style.
 *
 * <pre>{@code
 * DpSgdTrainer trainer = DpSgd.builder()
 *     .clipNorm(1.0).noiseMultiplier(1.1).samplingRate(0.05)
 *     .noise(secureNoise).accountant(rdpAccountant)
 *     .budget(new PrivacyBudget(3.0, 1e-5))
 *     .build(net);
 * TrainingReport report = trainer.train(dataset, steps, secureRandom);
 * }</pre>
 */
public final class DpSgd {
  /**
   * The largest epsilon a guard enforces: the grid release's discretisation delta, reserved at this
   * epsilon for 2^40 steps, stays below 1e-55 per coordinate count (GridGaussian.discretisationDelta).
   */
  public static final double MAX_GRID_EPSILON = 150;

  private DpSgd() {
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Collects the DP-SGD parameters; {@link #build} validates them against the network. */
  public static final class Builder {
    private double clipNorm = Double.NaN;
    private double[] perLayerClipNorms;
    private boolean perLayerEqualSplit;
    private double noiseMultiplier = Double.NaN;
    private double samplingRate = Double.NaN;
    private RandomGenerator noise;
    private PrivacyAccountant accountant;
    private PrivacyBudget budget;
    private PerExampleMethod method = PerExampleMethod.VECTORIZED;
    private double proximalMu;
    private double expectedBatchSize = Double.NaN;
    private GradientRules gradientRules = GradientRules.installed();

    private Builder() {
    }

    /** C: every example's gradient is clipped to L2 norm C over all parameters. */
    public Builder clipNorm(double c) {
      this.clipNorm = c;
      return this;
    }

    /**
     * Clips each layer separately, with thresholds C / sqrt(L) for the L layers that have
     * parameters (the total sensitivity stays C). Needs {@link #clipNorm}.
     */
    public Builder perLayerClipping() {
      this.perLayerEqualSplit = true;
      return this;
    }

    /**
     * Clips each layer with parameters to its own threshold; the total sensitivity is then
     * sqrt(sum C_l^2). Replaces {@link #clipNorm}; null goes back to {@link #clipNorm}.
     */
    public Builder perLayerClipNorms(double... thresholds) {
      this.perLayerClipNorms = thresholds == null ? null : thresholds.clone();
      return this;
    }

    /** Sigma: noise standard deviation in units of the clipping norm. 0 means no privacy. */
    public Builder noiseMultiplier(double sigma) {
      this.noiseMultiplier = sigma;
      return this;
    }

    /** q: each example joins a step's batch independently with this probability. */
    public Builder samplingRate(double q) {
      this.samplingRate = q;
      return this;
    }

    /**
     * The uniform bits of the exact discrete Gaussian noise (production: dp-accounting's
     * {@code SecureGaussianNoise}, AES-256-CTR keyed from OS entropy; a seeded one only in
     * simulations and tests).
     */
    public Builder noise(RandomGenerator noise) {
      this.noise = noise;
      return this;
    }

    /** The site's accountant: every step's event is composed into it. */
    public Builder accountant(PrivacyAccountant accountant) {
      this.accountant = accountant;
      return this;
    }

    /** The site's (epsilon, delta) ceiling, enforced before every step. Optional but advised. */
    public Builder budget(PrivacyBudget budget) {
      this.budget = budget;
      return this;
    }

    /**
     * FedProx: adds {@code mu * (w - w0)} to every noised gradient, where {@code w0} is the
     * network's parameters when {@link DpSgdTrainer#train} starts (the round's global model).
     * The term depends on no example, so it is post-processing: it changes no privacy figure.
     * 0 (the default) turns it off.
     */
    /** Per-layer gradient rules beyond the built-in ones (default: those installed with ServiceLoader). */
    public Builder gradientRules(GradientRules rules) {
      this.gradientRules = java.util.Objects.requireNonNull(rules, "rules");
      return this;
    }

    public Builder proximalMu(double mu) {
      if (!(mu >= 0) || !Double.isFinite(mu)) {
        throw new IllegalArgumentException("proximal mu must be >= 0 and finite, got " + mu);
      }
      this.proximalMu = mu;
      return this;
    }

    /**
     * The public denominator of each step's noisy sum (a count-private study's batch size). By
     * default it is q*n, the expected batch size, which depends on (and so releases) the site's
     * record count n.
     */
    public Builder expectedBatchSize(double b) {
      if (!(b > 0) || !Double.isFinite(b)) {
        throw new IllegalArgumentException("expected batch size must be > 0, got " + b);
      }
      this.expectedBatchSize = b;
      return this;
    }

    /** How per-example gradients are computed (default {@link PerExampleMethod#VECTORIZED}). */
    public Builder method(PerExampleMethod method) {
      this.method = Objects.requireNonNull(method, "method");
      return this;
    }

    /**
     * Builds a trainer for {@code net}, a {@code MultiLayerNetwork} or a {@code ComputationGraph}
     * (the one entry point: {@link #build(MultiLayerNetwork)}, {@link #build(ComputationGraph)}).
     */
    public DpSgdTrainer build(org.deeplearning4j.nn.api.Model net) {
      Objects.requireNonNull(net, "net");
      if (net instanceof MultiLayerNetwork m) {
        return build(m);
      }
      if (net instanceof ComputationGraph g) {
        return build(g);
      }
      throw new UnsupportedLayerException("DP-SGD trains a MultiLayerNetwork or a ComputationGraph, not a "
          + net.getClass().getName());
    }

    /**
     * Builds a trainer for {@code net}: checks every layer (see {@link DpCompatibility}) and
     * the parameters.
     */
    public DpSgdTrainer build(MultiLayerNetwork net) {
      Objects.requireNonNull(net, "net");
      checkSettings();
      DpCompatibility.check(net, gradientRules);
      return build(new LayeredModel(net, new NetworkLayout(net)));
    }

    /**
     * Builds a trainer for {@code graph}: checks every vertex (see
     * {@link DpCompatibility#check(ComputationGraph, GradientRules)}) and the parameters. Clipping is
     * over the whole graph's parameter vector (or per layer vertex, in topological order).
     */
    public DpSgdTrainer build(ComputationGraph graph) {
      Objects.requireNonNull(graph, "graph");
      checkSettings();
      DpCompatibility.check(graph, gradientRules);
      return build(new GraphModel(graph));
    }

    private void checkSettings() {
      if (noise == null) {
        throw new IllegalStateException("DP-SGD needs a noise source: call noise(...)");
      }
      if (accountant == null) {
        throw new IllegalStateException("DP-SGD needs a privacy accountant: call accountant(...)");
      }
      if (!(noiseMultiplier >= 0) || Double.isInfinite(noiseMultiplier)) {
        throw new IllegalArgumentException("noise multiplier must be >= 0 and finite, got " + noiseMultiplier
            + (Double.isNaN(noiseMultiplier) ? " (call noiseMultiplier(...))" : ""));
      }
      if (!(samplingRate > 0 && samplingRate <= 1)) {
        throw new IllegalArgumentException("sampling rate q must be in (0, 1], got " + samplingRate
            + (Double.isNaN(samplingRate) ? " (call samplingRate(...))" : ""));
      }
      if (perLayerClipNorms != null && perLayerEqualSplit) {
        throw new IllegalArgumentException("use either perLayerClipping() with clipNorm(C) or perLayerClipNorms(...)");
      }
      if (perLayerClipNorms == null && (!(clipNorm > 0) || Double.isInfinite(clipNorm))) {
        throw new IllegalArgumentException("clip norm C must be positive and finite, got " + clipNorm
            + (Double.isNaN(clipNorm) ? " (call clipNorm(...))" : ""));
      }
    }

    private DpSgdTrainer build(DpModel model) {
      int parametrized = model.parametrizedSegments().length;
      ClipPolicy policy;
      if (perLayerClipNorms != null) {
        if (perLayerClipNorms.length != parametrized) {
          throw new IllegalArgumentException("perLayerClipNorms needs " + parametrized
              + " thresholds (one per layer with parameters), got " + perLayerClipNorms.length);
        }
        policy = new ClipPolicy(true, perLayerClipNorms);
      } else if (perLayerEqualSplit) {
        double[] t = new double[parametrized];
        java.util.Arrays.fill(t, clipNorm / Math.sqrt(parametrized));
        policy = new ClipPolicy(true, t);
      } else {
        policy = ClipPolicy.flat(clipNorm);
      }
      ClippedGradients gradients = method == PerExampleMethod.VECTORIZED
          ? model.vectorized(gradientRules) : new NaiveGradients(model);
      DpSgdSettings settings = new DpSgdSettings(policy.sensitivity(),
          policy.perLayer() ? policy.thresholds() : new double[0], noiseMultiplier, samplingRate, method);
      // the grid release's discretisation delta (GridGaussian), reserved out of the budget's delta
      // for up to 2^40 lifetime steps of this model size
      // An absent (Double.MAX_VALUE) or very large ceiling is enforced at MAX_GRID_EPSILON, where the
      // reserved delta is still negligible: past it the grid release's guarantee is not established,
      // so no step may go there (it used to refuse such a study's every round instead).
      PrivacyBudget enforced = budget == null || budget.epsilon() <= MAX_GRID_EPSILON ? budget
          : new PrivacyBudget(MAX_GRID_EPSILON, budget.delta());
      PrivacyGuard guard = enforced == null ? null : new PrivacyGuard(enforced, accountant,
          noiseMultiplier == 0 ? 0 : GridGaussian.discretisationDelta(model.flatGradient().length(),
              PrivacyGuard.RESERVED_STEPS, enforced.epsilon()));
      return new DpSgdTrainer(model, settings, policy, gradients, noise, accountant, guard, proximalMu,
          expectedBatchSize);
    }
  }
}

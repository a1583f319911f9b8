package org.cloister.site.training;

import java.util.Objects;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.random.RandomGenerator;
import org.cloister.data.Dataset;
import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.accounting.UnsupportedEventException;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.PoissonSampledEvent;
import org.cloister.dp.events.SelfComposedEvent;
import org.cloister.dp.noise.GridGaussian;
import org.cloister.models.Nd4jData;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DP-SGD for a DL4J {@code MultiLayerNetwork} or {@code ComputationGraph}. Each step:
 * <ol>
 *   <li>Poisson-samples a batch (each example independently with probability q; empty batches are
 *       steps too);</li>
 *   <li>clips every example's gradient to L2 norm C and sums (one batched pass); an example whose
 *       gradient is NaN or infinite is dropped from the batch (counted in the local log);</li>
 *   <li>releases the sum on a grid with exact discrete Gaussian noise ({@link GridGaussian}:
 *       {@code gamma * (round(sum / gamma) + k)}, noise multiplier sigma for sensitivity C) and
 *       divides by the expected batch size q*n (post-processing);</li>
 *   <li>composes PoissonSampled(q, Gaussian(sigma)) into the accountant and lets the network's own
 *       updater (SGD, momentum, Adam...) take the step, which is post-processing.</li>
 * </ol>
 * Before a round, the privacy guard (when a budget is set) determines how many steps fit in the
 * site's budget; the round stops there. Build with {@link DpSgd#builder()}. Not thread-safe.
 */
public final class DpSgdTrainer {
  private static final Logger LOG = LoggerFactory.getLogger(DpSgdTrainer.class);

  private final DpModel model;
  private final DpSgdSettings settings;
  private final ClipPolicy policy;
  private final ClippedGradients gradients;
  private final RandomGenerator noiseBits;
  private final GridGaussian grid;
  private final PrivacyAccountant accountant;
  private final PrivacyGuard guard;
  private final DpEvent stepEvent;
  private final DataType dataType;
  private final double proximalMu;
  /** White-box hook for tests: (clipped sum, released noised sum) of every step, before scaling. */
  private BiConsumer<double[], double[]> releaseObserver;
  /** Audit only: Dirac gradient canaries summed into every step and scored on its release. */
  private GradientCanaries canaries;
  private long droppedNonFinite;
  private final double expectedBatchSize;

  DpSgdTrainer(DpModel model, DpSgdSettings settings, ClipPolicy policy, ClippedGradients gradients, RandomGenerator noiseBits, PrivacyAccountant accountant, PrivacyGuard guard,
               double proximalMu, double expectedBatchSize) {
    this.model = model;
    this.expectedBatchSize = expectedBatchSize;
    this.proximalMu = proximalMu;
    this.settings = settings;
    this.policy = policy;
    this.gradients = gradients;
    this.noiseBits = noiseBits;
    this.accountant = accountant;
    this.guard = guard;
    this.stepEvent = new PoissonSampledEvent(settings.samplingRate(), new GaussianEvent(settings.noiseMultiplier()));
    if (!accountant.supports(stepEvent)) {
      throw new UnsupportedEventException(accountant.getClass().getSimpleName(), stepEvent);
    }
    this.dataType = model.dataType();
    if (dataType != DataType.FLOAT && dataType != DataType.DOUBLE) {
      throw new IllegalArgumentException("DP-SGD trains FLOAT or DOUBLE networks, this one is " + dataType);
    }
    if (settings.noiseMultiplier() == 0) {
      LOG.warn("DP-SGD with noise multiplier 0: clipping only, no differential privacy");
      this.grid = null;
    } else {
      this.grid = new GridGaussian(settings.noiseMultiplier(), policy.sensitivity(), model.flatGradient().length());
    }
  }

  public DpSgdSettings settings() {
    return settings;
  }

  /** The network trained: a {@code MultiLayerNetwork} or a {@code ComputationGraph}. */
  public org.deeplearning4j.nn.api.Model network() {
    return model.network();
  }

  /** The privacy event of one step: PoissonSampled(q, Gaussian(sigma)). */
  public DpEvent stepEvent() {
    return stepEvent;
  }

  /** The guard, when a budget was set. */
  public Optional<PrivacyGuard> guard() {
    return Optional.ofNullable(guard);
  }

  /** How many of {@code requested} steps the budget still allows (all of them without a budget). */
  public int affordableSteps(int requested) {
    return guard == null ? Math.max(0, requested) : guard.affordable(stepEvent, requested);
  }

  /**
   * Trains for up to {@code steps} DP-SGD steps on {@code data} (one round), stopping early when
   * the next step would exceed the budget.
   *
   * @param sampling randomness of the Poisson sampling (production: a {@code SecureRandom})
   */
  public TrainingReport train(Dataset data, int steps, RandomGenerator sampling) {
    Objects.requireNonNull(data, "data");
    Objects.requireNonNull(sampling, "sampling");
    if (steps < 0) {
      throw new IllegalArgumentException("steps must be >= 0, got " + steps);
    }
    int n = data.size();
    if (n == 0) {
      throw new IllegalArgumentException("cannot train on an empty dataset");
    }
    model.checkShapes(data);
    int[] all = Nd4jData.allRows(data);
    INDArray x = Nd4jData.features(data, all, dataType);
    INDArray y = Nd4jData.oneHot(data, all, dataType);

    int allowed = affordableSteps(steps);
    // NaN: the expected batch size q*n (n is then part of what the update reveals)
    double scale = 1.0 / (Double.isNaN(expectedBatchSize) ? settings.samplingRate() * n : expectedBatchSize);
    int[] batchSizes = new int[allowed];
    ClippingStats stats = ClippingStats.EMPTY;
    long droppedInRound = 0;
    // FedProx's anchor: the parameters this round starts from (the global model)
    INDArray anchor = proximalMu > 0 ? model.network().params().dup() : null;
    for (int t = 0; t < allowed; t++) {
      // the plan above projected the round in bulk (compose(event, k)); composing step by step
      // can round differently in the last bit, so each step is also checked on the real history
      if (guard != null && !guard.allows(stepEvent)) {
        allowed = t;
        batchSizes = java.util.Arrays.copyOf(batchSizes, t);
        break;
      }
      int[] rows = PoissonSampler.sample(n, settings.samplingRate(), sampling);
      batchSizes[t] = rows.length;
      ClippedBatch batch = clippedSum(x, y, rows);
      if (!batch.complete()) {
        // a record whose gradient is NaN/infinite is dropped from this step's batch, locally
        // (dropping depends on that record alone, like clipping it to zero)
        int[] bad = batch.nonFinite();
        droppedInRound += bad.length;
        rows = without(rows, bad);
        batch = clippedSum(x, y, rows);
        if (!batch.complete()) {
          throw new RoundDeclinedException("per-example gradients are still not finite after dropping "
              + bad.length + " example(s)");
        }
      }
      stats = stats.plus(batch);
      if (canaries != null) {
        addCanaries(sampling);
      }
      addNoiseAndScale(scale);
      if (anchor != null) {
        addProximalTerm(anchor);
      }
      accountant.compose(stepEvent);
      model.applyUpdate();
    }
    boolean stopped = allowed < steps;
    String reason = stopped ? guard.refusal(stepEvent, allowed) : null;
    double delta = guard == null ? Double.NaN : guard.budget().delta();
    double epsilon = guard == null ? Double.NaN : guard.epsilonNow();
    if (stopped) {
      LOG.warn(reason);
    }
    if (droppedInRound > 0) {
      droppedNonFinite += droppedInRound;
      LOG.warn("DP-SGD round: {} sampled example(s) had a NaN or infinite gradient and were dropped from their "
          + "batch (local count only; lower the learning rate or check the inputs)", droppedInRound);
    }
    LOG.info("DP-SGD round: {} of {} steps (q={}, sigma={}, C={}), epsilon spent {} at delta {}",
        allowed, steps, settings.samplingRate(), settings.noiseMultiplier(), settings.clipNorm(), epsilon, delta);
    return new TrainingReport(steps, allowed, stopped, Optional.ofNullable(reason), stepEvent,
        new SelfComposedEvent(stepEvent, allowed), epsilon, delta, stats, batchSizes);
  }

  private ClippedBatch clippedSum(INDArray x, INDArray y, int[] rows) {
    return rows.length == 0
        ? gradients.clippedSum(null, null, policy)
        : gradients.clippedSum(Nd4j.pullRows(x, 1, rows), Nd4j.pullRows(y, 1, rows), policy);
  }

  private static int[] without(int[] rows, int[] positions) {
    boolean[] drop = new boolean[rows.length];
    for (int p : positions) {
      drop[p] = true;
    }
    return java.util.stream.IntStream.range(0, rows.length).filter(i -> !drop[i]).map(i -> rows[i]).toArray();
  }

  /**
   * Releases the clipped sum on the grid (exact discrete Gaussian noise, see {@link GridGaussian}),
   * then scales by 1/(qn). The released integers depend on the sum only through
   * round(sum / gamma); everything after the release is post-processing.
   */
  private void addNoiseAndScale(double scale) {
    INDArray flat = model.flatGradient();
    if (grid != null) {
      double[] before = releaseObserver == null ? null : flat.toDoubleVector();
      if (dataType == DataType.DOUBLE) {
        double[] buf = flat.toDoubleVector();
        grid.release(buf, noiseBits);
        flat.assign(Nd4j.createFromArray(buf).reshape(flat.shape()));
      } else {
        float[] buf = flat.toFloatVector();
        grid.release(buf, noiseBits);
        flat.assign(Nd4j.createFromArray(buf).reshape(flat.shape()));
      }
      if (releaseObserver != null) {
        releaseObserver.accept(before, flat.toDoubleVector());
      }
    }
    if (canaries != null) {
      canaries.observe(flat.toDoubleVector());
    }
    flat.muli(scale);
  }

  /** The grid mechanism of this trainer (empty when sigma = 0). */
  public Optional<GridGaussian> gridMechanism() {
    return Optional.ofNullable(grid);
  }

  /** Sampled examples dropped so far because their gradient was NaN or infinite (local only). */
  public long droppedNonFinite() {
    return droppedNonFinite;
  }

  /** TEST ONLY (white box): sees every step's clipped sum and its release, before scaling. */
  void observeReleases(BiConsumer<double[], double[]> observer) {
    this.releaseObserver = observer;
  }

  /**
   * AUDIT ONLY: from now on, every step also sums the included {@code canaries} that its Poisson
   * sampling picks (each with probability q, drawn from the training's sampling randomness) before
   * the release, and scores them on the release. Used by {@code cloister audit}; a production
   * site never calls this.
   */
  public void auditWith(GradientCanaries canaries) {
    Objects.requireNonNull(canaries, "canaries");
    if (policy.perLayer()) {
      throw new IllegalStateException("gradient canaries need flat clipping (a Dirac canary of norm C would exceed "
          + "a per-layer threshold)");
    }
    this.canaries = canaries;
  }

  private void addCanaries(RandomGenerator sampling) {
    INDArray flat = model.flatGradient();
    double[] sum = flat.toDoubleVector();
    canaries.addSampled(sum, settings.clipNorm(), settings.samplingRate(), sampling);
    flat.assign(Nd4j.createFromArray(sum).castTo(flat.dataType()).reshape(flat.shape()));
  }

  /** Adds mu * (w - anchor) to the noised gradient: data-independent, so post-processing. */
  private void addProximalTerm(INDArray anchor) {
    INDArray flat = model.flatGradient();
    INDArray params = model.network().params();
    flat.addi(params.sub(anchor).muli(proximalMu).reshape(flat.shape()));
  }

  @Override
  public String toString() {
    return "DpSgdTrainer[C=" + settings.clipNorm() + ", sigma=" + settings.noiseMultiplier() + ", q="
        + settings.samplingRate() + ", clipping=" + policy + ", method=" + settings.method()
        + ", budget=" + (guard == null ? "none" : guard.budget()) + "]";
  }

}

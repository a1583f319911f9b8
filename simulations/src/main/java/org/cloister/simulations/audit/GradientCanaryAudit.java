package org.cloister.simulations.audit;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;
import org.cloister.audit.AuditResult;
import org.cloister.audit.OneRunAuditor;
import org.cloister.data.Dataset;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.PoissonSampledEvent;
import org.cloister.dp.noise.GridGaussian;
import org.cloister.models.ModelArchitecture;
import org.cloister.models.ModelZoo;
import org.cloister.site.training.DpSgd;
import org.cloister.site.training.DpSgdTrainer;
import org.cloister.site.training.GradientCanaries;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * One-run audit of the DP-SGD trainer with Dirac gradient canaries (white box).
 *
 * <p>The dataset gets ceil(m / fan-out) extra input features that are 0 in every record; the
 * first layer's weights from those inputs have zero gradient for every real record, so they are
 * the canaries' coordinates (one per canary) and the released value there is the canaries' sum
 * plus the mechanism's noise only. Each canary is included with probability 1/2 (secret bits from
 * the seed); the trainer runs T real DP-SGD steps (Poisson sampling, clipping, the grid release
 * with exact discrete Gaussian noise); each canary's score is the sum of the released values at
 * its coordinate. The one-run statistics turn the scores into an epsilon lower bound, compared
 * with the accountant's epsilon for the noise multiplier the accountant is told.
 */
public final class GradientCanaryAudit {
  private static final int PROGRESS_CHUNK = 10;

  private final AuditSettings settings;

  public GradientCanaryAudit(AuditSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  /** The accountant's epsilon at delta: T steps of PoissonSampled(q, Gaussian(S')), RDP. */
  public static double accountantEpsilon(AuditSettings s) {
    RdpAccountant acc = new RdpAccountant();
    acc.compose(new PoissonSampledEvent(s.samplingRate(), new GaussianEvent(s.assumedNoiseMultiplier())), s.steps());
    return acc.epsilon(s.delta());
  }

  /**
   * The delta of the hypothesis the audit tests: the accountant's delta plus the grid release's
   * discretisation delta for T releases of the model's coordinates (the trainer's mechanism is
   * (epsilon_upper, delta + that)-DP, docs/privacy-accounting.md "Noise generation").
   */
  static double hypothesisDelta(AuditSettings s, long parameters, double epsilonUpper) {
    return s.delta() + GridGaussian.discretisationDelta(parameters, s.steps(), epsilonUpper);
  }

  /**
   * Runs the audit on {@code data} (already standardised).
   *
   * @param progress called with the number of steps done so far
   */
  public AuditOutcome run(Dataset data, IntConsumer progress) {
    long t0 = System.nanoTime();
    int m = settings.canaries();
    ModelArchitecture arch = ModelZoo.byName(settings.model());
    int features = data.numFeatures();
    int fanOut = (int) ModelZoo.newNetwork(arch, features, data.numClasses(), settings.seed(), new Sgd(1),
        DataType.FLOAT).getLayer(0).getParam("W").size(1);
    int pad = (m + fanOut - 1) / fanOut;
    Dataset padded = pad(data, pad);
    MultiLayerNetwork net = ModelZoo.newNetwork(arch, features + pad, data.numClasses(), settings.seed(),
        new Sgd(settings.learningRate()), DataType.FLOAT);
    int[] coordinates = padCoordinates(net, features, pad, m);

    SplittableRandom root = new SplittableRandom(settings.seed());
    SplittableRandom secret = root.split();
    boolean[] included = new boolean[m];
    for (int i = 0; i < m; i++) {
      included[i] = secret.nextBoolean();
    }
    GradientCanaries canaries = new GradientCanaries(coordinates, included);
    DpSgdTrainer trainer = DpSgd.builder().clipNorm(settings.clipNorm()).noiseMultiplier(settings.noiseMultiplier())
        .samplingRate(settings.samplingRate()).noise(root.split()).accountant(new RdpAccountant()).build(net);
    trainer.auditWith(canaries);
    SplittableRandom sampling = root.split();
    int done = 0;
    while (done < settings.steps()) {
      int chunk = Math.min(PROGRESS_CHUNK, settings.steps() - done);
      trainer.train(padded, chunk, sampling);
      done += chunk;
      progress.accept(done);
    }
    double[] scores = canaries.scores();
    double upper = accountantEpsilon(settings);
    AuditResult result = new OneRunAuditor(settings.beta(), hypothesisDelta(settings, net.numParams(), upper))
        .audit(scores, included);
    String verdict = result.epsilonLowerBound() > upper ? AuditOutcome.VIOLATION : AuditOutcome.CONSISTENT;
    return new AuditOutcome("gradient", settings, result, upper, verdict, scores, included,
        (System.nanoTime() - t0) / 1e9);
  }

  private static Dataset pad(Dataset data, int pad) {
    List<String> names = new ArrayList<>(data.featureNames());
    for (int j = 0; j < pad; j++) {
      names.add("audit_zero_" + j);
    }
    double[][] x = new double[data.size()][];
    for (int i = 0; i < x.length; i++) {
      x[i] = java.util.Arrays.copyOf(data.features()[i], data.numFeatures() + pad);
    }
    return new Dataset(names, data.labelName(), data.classNames(), x, data.labels());
  }

  /**
   * The flat-parameter coordinates of the first layer's weights from the padded inputs, found by
   * marking that weight matrix and reading the flat parameters back (no assumption on DL4J's
   * layout). The parameters are restored afterwards.
   */
  private static int[] padCoordinates(MultiLayerNetwork net, int features, int pad, int m) {
    INDArray params = net.params();
    INDArray saved = params.dup();
    INDArray w = net.getLayer(0).getParam("W");
    long nIn = w.size(0);
    long nOut = w.size(1);
    params.assign(0);
    for (long f = 0; f < nIn; f++) {
      for (long h = 0; h < nOut; h++) {
        w.putScalar(new long[] {f, h}, f * nOut + h + 1);
      }
    }
    double[] flat = params.toDoubleVector();
    params.assign(saved);
    int[] coords = new int[m];
    int found = 0;
    for (int p = 0; p < flat.length && found < m; p++) {
      long code = Math.round(flat[p]) - 1;
      if (code >= 0 && code / nOut >= features) {
        coords[found++] = p;
      }
    }
    if (found < m || (long) pad * nOut < m) {
      throw new IllegalStateException("found " + found + " zero-input weights for " + m + " canaries");
    }
    return coords;
  }
}

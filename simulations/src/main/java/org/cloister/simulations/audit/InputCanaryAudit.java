package org.cloister.simulations.audit;

import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;
import org.cloister.audit.AuditResult;
import org.cloister.audit.OneRunAuditor;
import org.cloister.data.Dataset;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.models.ModelZoo;
import org.cloister.models.Nd4jData;
import org.cloister.site.training.DpSgd;
import org.cloister.site.training.DpSgdTrainer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * One-run audit with input-space canaries (black box). Canary i is a record with an
 * out-of-range pattern: a random direction scaled to norm {@link #CANARY_NORM} (a standardised
 * WDBC record has norm about sqrt(30) = 5.5) and a random label. Each is added to the training data
 * with probability 1/2 (secret bits from the seed); DP-SGD trains as usual; the score is the
 * final model's log-probability of the canary's label (minus its loss). Weaker than gradient
 * canaries (the attacker sees only the final model), but it also covers how real records'
 * gradients are computed.
 */
public final class InputCanaryAudit {
  static final double CANARY_NORM = 20;
  private static final int PROGRESS_CHUNK = 10;

  private final AuditSettings settings;

  public InputCanaryAudit(AuditSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  public AuditOutcome run(Dataset data, IntConsumer progress) {
    long t0 = System.nanoTime();
    int m = settings.canaries();
    int f = data.numFeatures();
    int k = data.numClasses();
    SplittableRandom root = new SplittableRandom(settings.seed());
    SplittableRandom secret = root.split();
    SplittableRandom design = root.split();
    double[][] cx = new double[m][f];
    int[] cy = new int[m];
    boolean[] included = new boolean[m];
    int nIn = 0;
    for (int i = 0; i < m; i++) {
      double norm = 0;
      for (int j = 0; j < f; j++) {
        cx[i][j] = gaussian(design);
        norm += cx[i][j] * cx[i][j];
      }
      double s = CANARY_NORM / Math.sqrt(norm);
      for (int j = 0; j < f; j++) {
        cx[i][j] *= s;
      }
      cy[i] = design.nextInt(k);
      included[i] = secret.nextBoolean();
      nIn += included[i] ? 1 : 0;
    }
    double[][] x = Arrays.copyOf(data.features(), data.size() + nIn);
    int[] y = Arrays.copyOf(data.labels(), data.size() + nIn);
    int r = data.size();
    for (int i = 0; i < m; i++) {
      if (included[i]) {
        x[r] = cx[i];
        y[r] = cy[i];
        r++;
      }
    }
    Dataset train = new Dataset(data.featureNames(), data.labelName(), data.classNames(), x, y);
    MultiLayerNetwork net = ModelZoo.newNetwork(ModelZoo.byName(settings.model()), f, k, settings.seed(),
        new Sgd(settings.learningRate()), DataType.FLOAT);
    DpSgdTrainer trainer = DpSgd.builder().clipNorm(settings.clipNorm()).noiseMultiplier(settings.noiseMultiplier())
        .samplingRate(settings.samplingRate()).noise(root.split()).accountant(new RdpAccountant()).build(net);
    SplittableRandom sampling = root.split();
    int done = 0;
    while (done < settings.steps()) {
      int chunk = Math.min(PROGRESS_CHUNK, settings.steps() - done);
      trainer.train(train, chunk, sampling);
      done += chunk;
      progress.accept(done);
    }
    Dataset canaries = new Dataset(data.featureNames(), data.labelName(), data.classNames(), cx, cy);
    int[] all = Nd4jData.allRows(canaries);
    INDArray probs = net.output(Nd4jData.features(canaries, all, DataType.FLOAT));
    double[] scores = new double[m];
    for (int i = 0; i < m; i++) {
      scores[i] = Math.log(Math.max(probs.getDouble(i, cy[i]), Double.MIN_NORMAL));
    }
    double upper = GradientCanaryAudit.accountantEpsilon(settings);
    AuditResult result = new OneRunAuditor(settings.beta(),
        GradientCanaryAudit.hypothesisDelta(settings, net.numParams(), upper)).audit(scores, included);
    String verdict = result.epsilonLowerBound() > upper ? AuditOutcome.VIOLATION : AuditOutcome.CONSISTENT;
    return new AuditOutcome("input", settings, result, upper, verdict, scores, included,
        (System.nanoTime() - t0) / 1e9);
  }

  private static double gaussian(SplittableRandom r) {
    return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
  }
}

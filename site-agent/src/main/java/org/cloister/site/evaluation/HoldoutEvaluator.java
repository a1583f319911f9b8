package org.cloister.site.evaluation;

import java.util.Objects;
import java.util.random.RandomGenerator;
import org.cloister.data.Dataset;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.noise.GridGaussian;
import org.cloister.models.Nd4jData;
import org.cloister.protocol.EvaluationHistograms;
import org.cloister.protocol.v1.EvaluationConfig;
import org.cloister.protocol.v1.EvaluationRelease;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Federated evaluation at a site: scores a global model on the site's held-out rows (never trained on) and
 * releases the counts of {@link EvaluationHistograms} with the Gaussian mechanism: one example changes one
 * count by 1 (L2 sensitivity 1 under add/remove), so the release is {@code Gaussian(z)} for the study's noise
 * multiplier z. The noise is DP-SGD's: {@link GridGaussian} (exact discrete Gaussian on a grid, its bits from
 * the same secure generator), so the event is exactly {@code {"type":"gaussian","noise_multiplier":z}}.
 */
public final class HoldoutEvaluator {
  private final Dataset holdout;
  private final RandomGenerator noise;

  /**
   * @param holdout the site's held-out split
   * @param noise   uniform bits for the noise ({@code SecureGaussianNoise.fromOsEntropy()} in deployments)
   */
  public HoldoutEvaluator(Dataset holdout, RandomGenerator noise) {
    this.holdout = Objects.requireNonNull(holdout, "holdout");
    this.noise = Objects.requireNonNull(noise, "noise");
  }

  public int size() {
    return holdout.size();
  }

  /** The event one evaluation with {@code cfg} spends. */
  public static DpEvent event(EvaluationConfig cfg) {
    return new GaussianEvent(cfg.getNoiseMultiplier());
  }

  /** Why the site does not evaluate with {@code cfg} (checked before anything is spent), or null. */
  public String problem(EvaluationConfig cfg) {
    double z = cfg.getNoiseMultiplier();
    if (!(z > 0) || Double.isInfinite(z)) {
      return "federated evaluation asks for noise multiplier " + z + ": it must be > 0 (no evaluation without noise)";
    }
    String layout = EvaluationHistograms.layoutProblem(cfg.getClasses(), cfg.getBins());
    if (layout != null) {
      return "federated evaluation: " + layout;
    }
    if (cfg.getClasses() != holdout.numClasses()) {
      return "federated evaluation is for " + cfg.getClasses() + " classes but this site's data has " + holdout.numClasses();
    }
    return null;
  }

  /** The exact counts (not released: the input of {@link #release}). */
  public double[] counts(Model net, EvaluationConfig cfg) {
    int classes = cfg.getClasses();
    int bins = cfg.getBins();
    double[] counts = new double[EvaluationHistograms.cells(classes, bins)];
    if (holdout.size() == 0) {
      return counts;
    }
    INDArray probs = org.cloister.models.Networks.output(net, Nd4jData.features(holdout, Nd4jData.allRows(holdout), DataType.FLOAT));
    for (int i = 0; i < holdout.size(); i++) {
      int truth = holdout.labels()[i];
      if (classes == 2) {
        counts[truth * bins + EvaluationHistograms.bin(probs.getDouble(i, 1), bins)]++;
      } else {
        int predicted = 0;
        for (int k = 1; k < classes; k++) {
          if (probs.getDouble(i, k) > probs.getDouble(i, predicted)) {
            predicted = k;
          }
        }
        counts[truth * classes + predicted]++;
      }
    }
    return counts;
  }

  /** Scores {@code net} (the round's base model) and releases the noised counts. */
  public EvaluationRelease release(Model net, EvaluationConfig cfg, long modelVersion) {
    String problem = problem(cfg);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    double[] counts = counts(net, cfg);
    GridGaussian mechanism = new GridGaussian(cfg.getNoiseMultiplier(), 1.0, counts.length);
    mechanism.release(counts, noise);
    EvaluationRelease.Builder b = EvaluationRelease.newBuilder().setLayout(EvaluationHistograms.LAYOUT)
        .setModelVersion(modelVersion).setClasses(cfg.getClasses()).setBins(cfg.getBins())
        .setNoiseStddev(mechanism.stddev());
    for (double c : counts) {
      b.addCounts(c);
    }
    return b.build();
  }
}

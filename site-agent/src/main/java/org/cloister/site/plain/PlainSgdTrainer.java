package org.cloister.site.plain;

import java.util.Map;
import java.util.Random;
import org.cloister.data.Dataset;
import org.cloister.models.Nd4jData;
import org.cloister.models.Parameters;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.LocalUpdate;
import org.deeplearning4j.nn.api.Model;
import org.cloister.models.Networks;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Ordinary (non-private) minibatch SGD with DL4J's {@code fit}: the baseline a study compares
 * DP-SGD against. Its updates carry no privacy guarantee. With FedProx's {@code proximal_mu} each
 * step also moves the parameters by {@code -lr * mu * (w - w_round)} (exactly the proximal term's
 * gradient for plain SGD; decoupled from the updater's state for momentum or Adam).
 */
public final class PlainSgdTrainer implements LocalTrainer {
  private final Model net;
  private final Dataset data;

  public PlainSgdTrainer(Model net, Dataset data) {
    this.net = net;
    this.data = data;
  }

  @Override
  public long numExamples() {
    return data.size();
  }

  @Override
  public LocalUpdate train(float[] globalWeights, RoundTask task) {
    TrainingConfig cfg = task.getConfig();
    Parameters.set(net, globalWeights);
    double lr = cfg.getLearningRate() > 0 ? cfg.getLearningRate() : 0.1;
    Networks.setLearningRate(net, lr);
    double mu = cfg.getProximalMu();
    if (!(mu >= 0) || !Double.isFinite(mu)) {
      throw new IllegalArgumentException("round " + task.getRound() + ": proximal mu must be >= 0, got " + mu);
    }
    // FedProx's anchor: the round's global model
    INDArray anchor = mu > 0 ? net.params().dup() : null;
    int batch = cfg.getBatchSize() > 0 ? cfg.getBatchSize() : 32;
    int epochs = Math.max(1, cfg.getLocalEpochs());
    Random rng = new Random(cfg.getSeed() ^ data.size());
    int n = data.size();
    int[] order = Nd4jData.allRows(data);
    double lossSum = 0;
    int batches = 0;
    // local_steps > 0: that many minibatch steps, cycling through reshuffled epochs; else whole epochs
    long steps = cfg.getLocalSteps() > 0 ? cfg.getLocalSteps() : (long) epochs * ((n + batch - 1) / batch);
    int start = n;
    for (long step = 0; step < steps; step++) {
      if (start >= n) {
        shuffle(order, rng);
        start = 0;
      }
      int[] rows = java.util.Arrays.copyOfRange(order, start, Math.min(n, start + batch));
      start += batch;
      INDArray x = Nd4jData.features(data, rows, net.params().dataType());
      INDArray y = Nd4jData.oneHot(data, rows, net.params().dataType());
      INDArray proximalStep = anchor == null ? null : net.params().sub(anchor).muli(mu * lr);
      Networks.fit(net, x, y);
      if (proximalStep != null) {
        // the gradient of (mu/2)||w - anchor||^2 at the step's starting point, as an SGD step
        net.params().subi(proximalStep);
      }
      lossSum += net.score();
      batches++;
    }
    float[] local = Parameters.get(net);
    return LocalUpdate.nonPrivate(Parameters.subtract(local, globalWeights), n,
        Map.of("train_loss", batches == 0 ? Double.NaN : lossSum / batches));
  }

  private static void shuffle(int[] a, Random rng) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}

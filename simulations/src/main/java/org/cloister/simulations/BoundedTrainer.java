package org.cloister.simulations;

import java.util.concurrent.Semaphore;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.LocalUpdate;

/**
 * A virtual site's trainer that trains only while holding one of a shared, bounded number of
 * permits: with many virtual hospitals on one machine, each site's agent thread mostly waits on
 * its long poll, and at most {@code permits} sites compute at once (no oversubscription of the
 * cores, bounded DL4J working memory).
 */
final class BoundedTrainer implements LocalTrainer {
  private final LocalTrainer delegate;
  private final Semaphore permits;

  BoundedTrainer(LocalTrainer delegate, Semaphore permits) {
    this.delegate = delegate;
    this.permits = permits;
  }

  @Override
  public void joined(String modelName, int modelDimension) {
    delegate.joined(modelName, modelDimension);
  }

  @Override
  public long numExamples() {
    return delegate.numExamples();
  }

  @Override
  public LocalUpdate train(float[] globalWeights, RoundTask task) {
    permits.acquireUninterruptibly();
    try {
      return delegate.train(globalWeights, task);
    } finally {
      permits.release();
    }
  }
}

package org.cloister.site.plain;

import java.util.function.Function;
import org.cloister.data.Dataset;
import org.cloister.models.ModelArchitecture;
import org.cloister.models.ModelZoo;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.agent.LocalUpdate;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A trainer for a site that learns the study's model only when it joins: builds the model-zoo
 * network named by the coordinator for the site's own data shape, checks that its parameter count
 * matches the study's, and delegates to the trainer made for it.
 */
public final class ZooModelTrainer implements LocalTrainer {
  private final Dataset data;
  private final long seed;
  private final Function<Model, LocalTrainer> trainerFactory;
  private LocalTrainer delegate;

  public ZooModelTrainer(Dataset data, long seed, Function<Model, LocalTrainer> trainerFactory) {
    this.data = data;
    this.seed = seed;
    this.trainerFactory = trainerFactory;
  }

  @Override
  public void joined(String modelName, int modelDimension) {
    ModelArchitecture arch = ModelZoo.byName(modelName);
    Model net = ModelZoo.newModel(arch, data.numFeatures(), data.numClasses(), seed, null, DataType.FLOAT);
    if (net.numParams() != modelDimension) {
      throw new IllegalStateException("the study's model '" + modelName + "' has " + modelDimension
          + " parameters but this site's data (" + data.numFeatures() + " features, " + data.numClasses()
          + " classes) gives " + net.numParams() + ": check the feature columns and the label");
    }
    delegate = trainerFactory.apply(net);
  }

  @Override
  public long numExamples() {
    return data.size();
  }

  @Override
  public LocalUpdate train(float[] globalWeights, RoundTask task) {
    if (delegate == null) {
      joined(task.getModel().getModelName(), (int) task.getModel().getDimension());
    }
    return delegate.train(globalWeights, task);
  }

  /** The final evaluation, by the trainer made for the study's model (it holds the held-out split). */
  @Override
  public LocalUpdate evaluateOnly(float[] globalWeights, RoundTask task) {
    if (delegate == null) {
      joined(task.getModel().getModelName(), (int) task.getModel().getDimension());
    }
    return delegate.evaluateOnly(globalWeights, task);
  }
}

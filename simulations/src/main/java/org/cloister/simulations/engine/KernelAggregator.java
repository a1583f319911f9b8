package org.cloister.simulations.engine;

import com.google.protobuf.ByteString;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.coordinator.aggregation.AggregationResult;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.aggregation.strategy.AggregationRule;
import org.cloister.aggregation.strategy.AggregationRules;
import org.cloister.aggregation.strategy.ServerStep;
import org.cloister.aggregation.strategy.StrategySpec;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;

/**
 * The in-process engine's aggregator: the enclave's own arithmetic ({@link StreamingSum}: the enclave kernel, one
 * fused multiply-add per value, in the round engine's fixed site order, the mean in double, then
 * the strategy's {@link ServerStep}, as in the enclave), its validation (finite values, L2 norm within the
 * policy's bound) and its cohort floor, on plaintext {@code f32le-delta} updates in the simulation's
 * own process. The running sum is one buffer (two while a candidate is checked): memory O(model).
 *
 * <p>Simulation only: the updates are plaintext in the host process, so this is no secure
 * aggregation. It gives the enclave's sum bit for bit when both add the updates in the same order
 * (UpdateKernel's contract); the enclave now adds them in arrival order, so figures agree to float
 * rounding.
 */
public final class KernelAggregator implements Aggregator {
  private final int dimension;
  private final double maxNorm;
  private final int cohortFloor;
  private final ServerStep optimizer;

  public KernelAggregator(int dimension, double maxUpdateNorm, int cohortFloor, StrategySpec strategy) {
    this.dimension = dimension;
    this.maxNorm = maxUpdateNorm;
    this.cohortFloor = cohortFloor;
    AggregationRule rule = AggregationRules.installed().rule(strategy.name());
    if (rule.combiner(strategy).isPresent()) {
      throw new IllegalArgumentException("strategy '" + strategy.name() + "' needs every update of a round (a robust"
          + " combination); the inprocess engine streams the weighted mean only: use --engine grpc");
    }
    this.optimizer = rule.serverStep(strategy, dimension);
  }

  @Override
  public AggregationResult aggregate(String roundId, int round, ModelArtifact current, List<ReceivedUpdate> updates) {
    StreamingSum sum = new StreamingSum(dimension, maxNorm);
    Map<String, String> rejected = new LinkedHashMap<>();
    for (ReceivedUpdate u : updates) {
      if (!FloatCodec.DELTA_F32LE.equals(u.envelope().getPayloadFormat())) {
        rejected.put(u.siteId(), "malformed: payload format '" + u.envelope().getPayloadFormat() + "' is not "
            + FloatCodec.DELTA_F32LE);
        continue;
      }
      sum.add(u.siteId(), u.envelope().getPayload().toByteArray(), u.envelope().getNumExamples());
    }
    rejected.putAll(sum.rejected());
    return publish(current, sum.sum(), sum.weight(), sum.accepted(), rejected);
  }

  /**
   * The enclave's last steps on a weighted sum of the valid updates: the cohort floor, the mean in
   * double, the strategy's server step, the next model.
   *
   * @param rejected the refused updates with why (the floor adds the unpublished ones)
   */
  public AggregationResult publish(ModelArtifact current, float[] sum, double totalWeight, List<String> accepted,
                                   Map<String, String> rejected) {
    if (accepted.size() < cohortFloor) {
      return publishMean(current, null, accepted, rejected, cohortFloor);
    }
    double inv = 1.0 / totalWeight;
    float[] mean = new float[dimension];
    for (int i = 0; i < dimension; i++) {
      mean[i] = (float) (sum[i] * inv);
    }
    return publishMean(current, mean, accepted, rejected, cohortFloor);
  }

  /**
   * The enclave's last steps on the mean update of the valid updates: the cohort floor {@code floor},
   * the strategy's server step, the next model.
   *
   * @param mean the weighted mean of the accepted updates (ignored, may be null, below the floor)
   * @param rejected the refused updates with why (the floor adds the unpublished ones)
   */
  public AggregationResult publishMean(ModelArtifact current, float[] mean, List<String> accepted,
                                       Map<String, String> rejected, int floor) {
    rejected = new LinkedHashMap<>(rejected);
    if (accepted.size() < floor) {
      String detail = "below_cohort_floor: " + accepted.size() + " valid training site(s); the policy publishes a model only"
          + " from at least " + floor;
      for (String s : accepted) {
        rejected.put(s, "not_published: " + detail);
      }
      return new AggregationResult(null, List.of(), rejected);
    }
    float[] next = optimizer.step(FloatCodec.decode(current.getPayload(), dimension), mean);
    byte[] payload = FloatCodec.encode(next);
    ModelArtifact model = current.toBuilder()
        .setVersion(current.getVersion() + 1)
        .setFormat(FloatCodec.WEIGHTS_F32LE)
        .setPayload(ByteString.copyFrom(payload))
        .setSha256(ByteString.copyFrom(FloatCodec.sha256(payload)))
        .build();
    return new AggregationResult(model, List.copyOf(accepted), rejected);
  }

  public int cohortFloor() {
    return cohortFloor;
  }

  public int dimension() {
    return dimension;
  }

  public double maxUpdateNorm() {
    return maxNorm;
  }
}

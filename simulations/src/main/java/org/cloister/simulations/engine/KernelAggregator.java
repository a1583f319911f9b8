package org.cloister.simulations.engine;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.cloister.coordinator.aggregation.AggregationResult;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.aggregation.strategy.AggregationRule;
import org.cloister.aggregation.strategy.AggregationRules;
import org.cloister.aggregation.strategy.ServerStep;
import org.cloister.aggregation.strategy.StrategySpec;
import org.cloister.enclave.aggregation.UpdateKernel;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;

/**
 * The in-process engine's aggregator: the enclave's own arithmetic (its {@link UpdateKernel}, one
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
final class KernelAggregator implements Aggregator {
  private final UpdateKernel kernel = UpdateKernel.best();
  private final int dimension;
  private final double maxSquaredNorm;
  private final double maxNorm;
  private final int cohortFloor;
  private final ServerStep optimizer;

  KernelAggregator(int dimension, double maxUpdateNorm, int cohortFloor, StrategySpec strategy) {
    this.dimension = dimension;
    this.maxNorm = maxUpdateNorm;
    this.maxSquaredNorm = maxUpdateNorm * maxUpdateNorm;
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
    float[] sum = new float[dimension];
    float[] spare = new float[dimension];
    double totalWeight = 0;
    List<String> accepted = new ArrayList<>();
    Map<String, String> rejected = new LinkedHashMap<>();
    for (ReceivedUpdate u : updates) {
      String reason = check(u);
      if (reason != null) {
        rejected.put(u.siteId(), reason);
        continue;
      }
      byte[] values = u.envelope().getPayload().toByteArray();
      long weight = u.envelope().getNumExamples();
      double sq = kernel.accumulateInto(values, 0, dimension, weight, sum, spare);
      if (!Double.isFinite(sq)) {
        if (UpdateKernel.firstNonFinite(values, 0, dimension) >= 0) {
          rejected.put(u.siteId(), "not_finite: the update contains NaN or infinite values");
          continue;
        }
        sq = UpdateKernel.exactSumOfSquares(values, 0, dimension);
      }
      if (!(sq <= maxSquaredNorm)) {
        rejected.put(u.siteId(), String.format(Locale.ROOT, "norm_exceeded: the update's L2 norm exceeds the policy bound %.6g",
            maxNorm));
        continue;
      }
      float[] t = sum;
      sum = spare;
      spare = t;
      accepted.add(u.siteId());
      totalWeight += weight;
    }
    if (accepted.size() < cohortFloor) {
      String detail = "below_cohort_floor: " + accepted.size() + " valid training site(s); the policy publishes a model only"
          + " from at least " + cohortFloor;
      for (String s : accepted) {
        rejected.put(s, "not_published: " + detail);
      }
      return new AggregationResult(null, List.of(), rejected);
    }
    double inv = 1.0 / totalWeight;
    float[] mean = new float[dimension];
    for (int i = 0; i < dimension; i++) {
      mean[i] = (float) (sum[i] * inv);
    }
    float[] next = optimizer.step(FloatCodec.decode(current.getPayload(), dimension), mean);
    byte[] payload = FloatCodec.encode(next);
    ModelArtifact model = current.toBuilder()
        .setVersion(current.getVersion() + 1)
        .setFormat(FloatCodec.WEIGHTS_F32LE)
        .setPayload(ByteString.copyFrom(payload))
        .setSha256(ByteString.copyFrom(FloatCodec.sha256(payload)))
        .build();
    return new AggregationResult(model, accepted, rejected);
  }

  private String check(ReceivedUpdate u) {
    long n = u.envelope().getNumExamples();
    if (n < 1 || n > (1L << 40)) {
      return "bad_weight: num_examples must be in [1, 2^40], got " + n;
    }
    if (!FloatCodec.DELTA_F32LE.equals(u.envelope().getPayloadFormat())) {
      return "malformed: payload format '" + u.envelope().getPayloadFormat() + "' is not " + FloatCodec.DELTA_F32LE;
    }
    if (u.envelope().getPayload().size() != dimension * Float.BYTES) {
      return "wrong_dimension: update has " + u.envelope().getPayload().size() / Float.BYTES + " parameters, expected " + dimension;
    }
    return null;
  }
}

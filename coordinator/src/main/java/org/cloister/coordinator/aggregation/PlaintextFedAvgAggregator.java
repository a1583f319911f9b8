package org.cloister.coordinator.aggregation;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.aggregation.FedAvg;
import org.cloister.aggregation.UpdateRejectedException;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.aggregation.WeightedUpdate;
import org.cloister.aggregation.strategy.AggregationRule;
import org.cloister.aggregation.strategy.AggregationRules;
import org.cloister.aggregation.strategy.ServerStep;
import org.cloister.aggregation.strategy.StrategySpec;
import org.cloister.aggregation.strategy.UpdateCombiner;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;

/**
 * A study's strategy over plaintext updates, in the coordinator's own process: the same
 * {@link AggregationRule} the enclave runs (weighted mean or the rule's robust combination, then its
 * server step, whose state lives in this object for the whole study). Plain FedAvg by default.
 *
 * <p>For development and the non-private baseline only: it reads update values, so it must not be
 * used where the coordinator host is untrusted (the secure aggregator enclave replaces it).
 */
public final class PlaintextFedAvgAggregator implements Aggregator {
  private final UpdateValidator validator;
  private final StrategySpec strategy;
  private final AggregationRule rule;
  private ServerStep step;

  /** Plain FedAvg ({@code fedavg:server_lr=1}). */
  public PlaintextFedAvgAggregator(UpdateValidator validator) {
    this(validator, new StrategySpec("fedavg", Map.of("server_lr", 1.0)));
  }

  /** @param strategy the study's strategy, resolved against the installed rules */
  public PlaintextFedAvgAggregator(UpdateValidator validator, StrategySpec strategy) {
    AggregationRules rules = AggregationRules.installed();
    this.validator = validator;
    this.strategy = rules.resolve(strategy);
    this.rule = rules.rule(this.strategy.name());
  }

  @Override
  public AggregationResult aggregate(String roundId, int round, ModelArtifact current, List<ReceivedUpdate> updates) {
    float[] global = FloatCodec.decode(current.getPayload(), (int) current.getDimension());
    List<WeightedUpdate> accepted = new ArrayList<>();
    List<String> aggregated = new ArrayList<>();
    Map<String, String> rejected = new LinkedHashMap<>();
    for (ReceivedUpdate u : updates) {
      try {
        if (!FloatCodec.DELTA_F32LE.equals(u.envelope().getPayloadFormat())) {
          throw new IllegalArgumentException("payload format '" + u.envelope().getPayloadFormat()
              + "' is not " + FloatCodec.DELTA_F32LE);
        }
        float[] delta = FloatCodec.decode(u.envelope().getPayload(), -1);
        validator.validate(delta);
        accepted.add(new WeightedUpdate(u.siteId(), delta, u.envelope().getNumExamples()));
        aggregated.add(u.siteId());
      } catch (UpdateRejectedException | IllegalArgumentException e) {
        rejected.put(u.siteId(), e.getMessage());
      }
    }
    if (accepted.isEmpty()) {
      return new AggregationResult(null, aggregated, rejected);
    }
    if (step == null) {
      step = rule.serverStep(strategy, global.length);
    }
    float[] delta;
    java.util.Optional<UpdateCombiner> combiner = rule.combiner(strategy);
    if (combiner.isPresent()) {
      float[][] deltas = accepted.stream().map(WeightedUpdate::delta).toArray(float[][]::new);
      delta = combiner.get().combine(deltas, deltas.length, global.length);
    } else {
      delta = FedAvg.weightedMeanDelta(global.length, accepted);
    }
    float[] next = step.step(global, delta);
    byte[] payload = FloatCodec.encode(next);
    ModelArtifact model = current.toBuilder()
        .setVersion(current.getVersion() + 1)
        .setFormat(FloatCodec.WEIGHTS_F32LE)
        .setPayload(ByteString.copyFrom(payload))
        .setSha256(ByteString.copyFrom(FloatCodec.sha256(payload)))
        .build();
    return new AggregationResult(model, aggregated, rejected);
  }
}

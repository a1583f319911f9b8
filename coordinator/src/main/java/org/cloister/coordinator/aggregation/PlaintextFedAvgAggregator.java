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
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;

/**
 * Weighted FedAvg over plaintext updates, in the coordinator's own process.
 *
 * <p>For development and the non-private baseline only: it reads update values, so it must not be
 * used where the coordinator host is untrusted (the secure aggregator enclave replaces it).
 */
public final class PlaintextFedAvgAggregator implements Aggregator {
  private final UpdateValidator validator;

  public PlaintextFedAvgAggregator(UpdateValidator validator) {
    this.validator = validator;
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
    float[] next = FedAvg.apply(global, accepted);
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

package org.cloister.coordinator.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.aggregation.strategy.StrategySpec;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.junit.jupiter.api.Test;

/** The development aggregator runs the study's strategy through the same rules as the enclave. */
class PlaintextStrategyTest {

  private static ModelArtifact model(float... w) {
    return ModelArtifact.newBuilder().setStudyId("s").setVersion(1).setModelName("toy").setDimension(w.length)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(FloatCodec.encode(w))).build();
  }

  private static List<ReceivedUpdate> updates(float[]... deltas) {
    List<ReceivedUpdate> out = new ArrayList<>();
    for (int k = 0; k < deltas.length; k++) {
      out.add(new ReceivedUpdate("site-" + k, UpdateEnvelope.newBuilder().setNumExamples(k == 0 ? 1000 : 1)
          .setPayloadFormat(FloatCodec.DELTA_F32LE).setPayload(ByteString.copyFrom(FloatCodec.encode(deltas[k]))).build(), null));
    }
    return out;
  }

  private static float[] weights(AggregationResult r) {
    return FloatCodec.decode(r.model().getPayload(), (int) r.model().getDimension());
  }

  @Test
  void theMedianIgnoresAHeavilyWeightedOutlier() {
    PlaintextFedAvgAggregator median = new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(1), StrategySpec.of("median"));
    AggregationResult r = median.aggregate("r1", 1, model(0f), updates(new float[] {100f}, new float[] {1f}, new float[] {2f}));
    assertThat(weights(r)).containsExactly(2f);
    PlaintextFedAvgAggregator avg = new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(1));
    assertThat(weights(avg.aggregate("r1", 1, model(0f), updates(new float[] {100f}, new float[] {1f}, new float[] {2f}))))
        .containsExactly((float) ((100_000 + 1 + 2) / 1002.0));
  }

  /** FedAdam keeps its moments across rounds (lr 1, beta1 0.5, beta2 0.75, tau 0.5: AggregationRulesTest's steps). */
  @Test
  void fedAdamKeepsItsMomentsAcrossRounds() {
    PlaintextFedAvgAggregator adam = new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(1),
        StrategySpec.parse("fedadam:server_lr=1,beta1=0.5,beta2=0.75,tau=0.5"));
    AggregationResult r1 = adam.aggregate("r1", 1, model(1f), updates(new float[] {0.5f}));
    assertThat(weights(r1)).containsExactly(1.25f);
    AggregationResult r2 = adam.aggregate("r2", 2, r1.model(), updates(new float[] {1.5f}));
    assertThat((double) weights(r2)[0]).isCloseTo(1.8905444566227678, within(1e-6));
  }
}

package org.cloister.simulations.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.protobuf.ByteString;
import java.util.List;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.coordinator.aggregation.AggregationResult;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.cloister.simulations.engine.KernelAggregator;
import org.cloister.simulations.engine.StreamingSum;
import org.junit.jupiter.api.Test;

/**
 * The driver's side of a spark round without Spark: the partitions' sums combined give the model
 * the in-process kernel gives on the same updates; an update in the sum that the round engine did
 * not accept (e.g. refused as late) fails the round instead of being published unaccounted for; a
 * refused update (norm) is reported with the kernel's reason.
 */
class SparkAggregatorTest {
  private static final int DIM = 4;
  private static final ModelArtifact CURRENT = ModelArtifact.newBuilder().setVersion(3).setDimension(DIM)
      .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(FloatCodec.encode(new float[] {1, 2, 3, 4})))
      .build();

  private static KernelAggregator kernel() {
    return new KernelAggregator(DIM, 10.0, 1, SecureAggregationSetup.strategySpec("fedavg"));
  }

  private static PartialSum partition(String site, float[] delta, long n) {
    StreamingSum s = new StreamingSum(DIM, 10.0);
    s.add(site, FloatCodec.encode(delta), n);
    PartialSum p = PartialSum.empty();
    if (!s.accepted().isEmpty()) {
      p.sum = s.sum().clone();
    }
    p.weight = s.weight();
    p.accepted.addAll(s.accepted());
    p.rejected.putAll(s.rejected());
    return p;
  }

  private static ReceivedUpdate envelope(String site, String format, byte[] payload, long n) {
    return new ReceivedUpdate(site, UpdateEnvelope.newBuilder().setNumExamples(n).setPayloadFormat(format)
        .setPayload(ByteString.copyFrom(payload)).build(), null);
  }

  private static final float[] A = {0.5f, -0.25f, 0.125f, 1f};
  private static final float[] B = {-1f, 0.75f, 0.3f, -0.2f};
  private static final float[] HUGE = {100f, 0, 0, 0};

  @Test
  void combinedPartitionSumsPublishTheKernelsModel() {
    SparkAggregator spark = new SparkAggregator(kernel());
    spark.summed("r", partition("site-1", A, 30).merge(partition("site-2", B, 10)).merge(partition("site-3", HUGE, 5)));
    AggregationResult got = spark.aggregate("r", 3, CURRENT, List.of(
        envelope("site-1", SparkAggregator.PAYLOAD_FORMAT, FloatCodec.sha256(FloatCodec.encode(A)), 30),
        envelope("site-2", SparkAggregator.PAYLOAD_FORMAT, FloatCodec.sha256(FloatCodec.encode(B)), 10),
        envelope("site-3", SparkAggregator.PAYLOAD_FORMAT, FloatCodec.sha256(FloatCodec.encode(HUGE)), 5)));
    AggregationResult expected = kernel().aggregate("r", 3, CURRENT, List.of(
        envelope("site-1", FloatCodec.DELTA_F32LE, FloatCodec.encode(A), 30),
        envelope("site-2", FloatCodec.DELTA_F32LE, FloatCodec.encode(B), 10),
        envelope("site-3", FloatCodec.DELTA_F32LE, FloatCodec.encode(HUGE), 5)));
    assertThat(got.aggregated()).containsExactly("site-1", "site-2");
    assertThat(got.rejected()).containsOnlyKeys("site-3");
    assertThat(got.rejected().get("site-3")).startsWith("norm_exceeded");
    assertThat(FloatCodec.decode(got.model().getPayload(), DIM))
        .containsExactly(FloatCodec.decode(expected.model().getPayload(), DIM), within(1e-6f)); // partial sums: another order
  }

  @Test
  void anUpdateInTheSumThatTheRoundEngineDidNotAcceptFailsTheRound() {
    SparkAggregator spark = new SparkAggregator(kernel());
    spark.summed("r", partition("site-1", A, 30).merge(partition("site-2", B, 10)));
    assertThatThrownBy(() -> spark.aggregate("r", 3, CURRENT, List.of(
        envelope("site-1", SparkAggregator.PAYLOAD_FORMAT, new byte[32], 30))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("site-2's update is in the executors' sum but the coordinator did not accept it");
  }

  @Test
  void aRoundWithoutTheExecutorsSumIsNotPublished() {
    SparkAggregator spark = new SparkAggregator(kernel());
    assertThatThrownBy(() -> spark.aggregate("r", 3, CURRENT, List.of(
        envelope("site-1", SparkAggregator.PAYLOAD_FORMAT, new byte[32], 30))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("sum for this round is missing");
  }
}

package org.cloister.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class FedAvgTest {

  @Test
  void weightsByExampleCountsHandComputed() {
    // global (1, 2); site A (10 examples) delta (+3, 0); site B (30 examples) delta (-1, +4)
    // weighted mean delta = (10*3 + 30*(-1))/40 , (10*0 + 30*4)/40 = (0, 3)
    float[] next = FedAvg.apply(new float[] {1f, 2f}, List.of(
        new WeightedUpdate("A", new float[] {3f, 0f}, 10),
        new WeightedUpdate("B", new float[] {-1f, 4f}, 30)));
    assertThat(next[0]).isCloseTo(1f, within(1e-6f));
    assertThat(next[1]).isCloseTo(5f, within(1e-6f));
  }

  @Test
  void unequalWeightsDifferFromPlainMean() {
    float[] mean = FedAvg.weightedMeanDelta(1, List.of(
        new WeightedUpdate("A", new float[] {1f}, 1),
        new WeightedUpdate("B", new float[] {0f}, 3)));
    assertThat(mean[0]).isCloseTo(0.25f, within(1e-7f));
  }

  @Test
  void rejectsWrongDimensionNaNAndNorm() {
    UpdateValidator v = new UpdateValidator(3, 1.0);
    assertThatThrownBy(() -> v.validate(new float[2]))
        .isInstanceOfSatisfying(UpdateRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.WRONG_DIMENSION))
        .hasMessageContaining("expected 3");
    assertThatThrownBy(() -> v.validate(new float[] {0, Float.NaN, 0}))
        .isInstanceOfSatisfying(UpdateRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.NOT_FINITE));
    assertThatThrownBy(() -> v.validate(new float[] {1, 1, 0}))
        .isInstanceOfSatisfying(UpdateRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.NORM_EXCEEDED));
    v.validate(new float[] {0.5f, 0.5f, 0.5f});
  }

  @Test
  void nonPositiveWeightIsRefused() {
    assertThatThrownBy(() -> new WeightedUpdate("A", new float[1], 0)).hasMessageContaining("weight of A");
  }
}

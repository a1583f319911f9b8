package org.cloister.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class PercentilesTest {
  @Test
  void medianIsTheMiddleSampleToFiveSignificantDigits() {
    assertThat(Percentiles.median(0.731, 0.715, 0.747, 0.601, 0.802, 0.699, 0.722)).isCloseTo(0.722, within(1e-5));
    assertThat(Percentiles.median(List.of(14.8, 36.3, 15.1))).isCloseTo(15.1, within(1e-4));
    assertThat(Percentiles.median(2303.5)).isCloseTo(2303.5, within(0.05));
  }

  @Test
  void percentilesOfTimes() {
    double[] ms = new double[100];
    for (int i = 0; i < 100; i++) {
      ms[i] = i + 1;
    }
    assertThat(Percentiles.percentile(ms, 99)).isCloseTo(99, within(0.01));
    assertThat(Percentiles.percentile(ms, 100)).isCloseTo(100, within(0.01));
  }

  @Test
  void refusesWhatItCannotSummarise() {
    assertThatThrownBy(() -> Percentiles.median()).hasMessageContaining("no samples");
    assertThatThrownBy(() -> Percentiles.median(1.0, -2.0)).hasMessageContaining("non-negative");
    assertThatThrownBy(() -> Percentiles.median(Double.NaN)).hasMessageContaining("non-negative");
    assertThatThrownBy(() -> Percentiles.percentile(new double[] {1}, 101)).hasMessageContaining("[0, 100]");
  }
}

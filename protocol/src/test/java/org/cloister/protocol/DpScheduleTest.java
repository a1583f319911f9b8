package org.cloister.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import org.cloister.protocol.v1.DpConfig;
import org.cloister.protocol.v1.TrainingConfig;
import org.junit.jupiter.api.Test;

class DpScheduleTest {
  @Test
  void samplingRateAndStepsFollowTheDocumentedRule() {
    TrainingConfig epochs = TrainingConfig.newBuilder().setBatchSize(16).setLocalEpochs(2).build();
    assertThat(DpSchedule.of(epochs, 160)).isEqualTo(new DpSchedule(0.1, 20));
    TrainingConfig steps = epochs.toBuilder().setLocalSteps(7).setDp(DpConfig.newBuilder().setSamplingRate(0.05)).build();
    assertThat(DpSchedule.of(steps, 160)).isEqualTo(new DpSchedule(0.05, 7));
    // a batch larger than the site: q capped at 1, one step per epoch
    assertThat(DpSchedule.of(TrainingConfig.newBuilder().setBatchSize(500).setLocalEpochs(3).build(), 100))
        .isEqualTo(new DpSchedule(1.0, 3));
  }
}

package org.cloister.dp.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DpEventJsonTest {

  private static final DpEvent EVERYTHING = new ComposedEvent(List.of(
      new SelfComposedEvent(new PoissonSampledEvent(256 / 60000.0, new GaussianEvent(1.1)), 14063),
      new LaplaceEvent(0.1 + 0.2),
      new SampledWithoutReplacementEvent(60000, 256, new ComposedEvent(List.of(new GaussianEvent(2), new GaussianEvent(Math.PI)))),
      new NoOpEvent(),
      new NonPrivateEvent(),
      new ComposedEvent(List.of())));

  @Test
  void everyEventTypeRoundTripsExactly() {
    String json = DpEventJson.toJson(EVERYTHING);
    assertThat(DpEventJson.fromJson(json)).isEqualTo(EVERYTHING);
    // doubles keep every bit (0.1 + 0.2 = 0.30000000000000004)
    assertThat(json).contains("0.30000000000000004").contains("3.141592653589793");
  }

  @Test
  void formatIsStableSnakeCase() {
    assertThat(DpEventJson.toJson(new SelfComposedEvent(new PoissonSampledEvent(0.01, new GaussianEvent(1.1)), 100)))
        .isEqualTo("{\"type\":\"self_composed\",\"count\":100,\"event\":{\"type\":\"poisson_sampled\","
            + "\"sampling_probability\":0.01,\"event\":{\"type\":\"gaussian\",\"noise_multiplier\":1.1}}}");
    assertThat(DpEventJson.fromJson("{\"count\":3,\"type\":\"self_composed\",\"event\":{\"type\":\"no_op\"}}"))
        .isEqualTo(new SelfComposedEvent(new NoOpEvent(), 3));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "not json at all | invalid DP event JSON",
      "[] | at $: expected an object",
      "{\"noise_multiplier\":1} | at $: missing string field 'type'",
      "{\"type\":\"gausian\",\"noise_multiplier\":1} | at $.type: unknown event type 'gausian'",
      "{\"type\":\"gaussian\"} | at $: missing field 'noise_multiplier' for type 'gaussian'",
      "{\"type\":\"gaussian\",\"noise_multiplier\":\"1.1\"} | at $.noise_multiplier: expected a number",
      "{\"type\":\"gaussian\",\"noise_multiplier\":1,\"sigma\":2} | at $.sigma: unknown field",
      "{\"type\":\"gaussian\",\"noise_multiplier\":-1} | at $: noise multiplier must be >= 0",
      "{\"type\":\"poisson_sampled\",\"sampling_probability\":1.5,\"event\":{\"type\":\"no_op\"}} | sampling probability must be in [0,1], got 1.5",
      "{\"type\":\"self_composed\",\"count\":2.5,\"event\":{\"type\":\"no_op\"}} | at $.count: expected an integer",
      "{\"type\":\"composed\",\"events\":[{\"type\":\"no_op\"},{\"type\":\"laplace\"}]} | at $.events[1]: missing field 'scale'",
      "{\"type\":\"self_composed\",\"count\":1,\"event\":{\"type\":\"poisson_sampled\",\"sampling_probability\":0.1,\"event\":7}} | at $.event.event: expected an object",
  })
  void badInputIsRejectedNamingThePath(String json, String message) {
    assertThatThrownBy(() -> DpEventJson.fromJson(json))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }

  @Test
  void absurdNestingIsRejected() {
    DpEvent e = new NoOpEvent();
    for (int i = 0; i < 100; i++) {
      e = new SelfComposedEvent(e, 1);
    }
    String json = DpEventJson.toJson(e);
    assertThatThrownBy(() -> DpEventJson.fromJson(json)).hasMessageContaining("nested deeper than 64");
  }
}

package org.cloister.site.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.cloister.data.Dataset;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.junit.jupiter.api.Test;

/**
 * White box: a gradient canary is summed like an example before the release (so it is noised by
 * the real mechanism), an excluded one changes nothing, and the score is the released value.
 */
class GradientCanariesTest {
  private static final double CLIP = 0.8;

  private record Step(double[] sum, double[] released) {
  }

  private static List<Step> oneStep(GradientCanaries canaries, double q) {
    DpSgdTrainer t = DpSgd.builder().clipNorm(CLIP).noiseMultiplier(1.1).samplingRate(q)
        .noise(SecureGaussianNoise.seeded(9)).accountant(new GaussianRdpTestAccountant()).build(TestNets.mlp(6, 3, 4));
    List<Step> steps = new ArrayList<>();
    t.observeReleases((sum, released) -> steps.add(new Step(sum, released)));
    if (canaries != null) {
      t.auditWith(canaries);
    }
    Dataset data = TestNets.dataset(TestNets.gaussian(20, 6, 1), TestNets.labels(20, 3, 2), 3);
    t.train(data, 1, new Random(5));
    return steps;
  }

  @Test
  void anIncludedCanaryIsSummedBeforeTheNoiseAndScoredOnTheRelease() {
    // q = 1: every record and every included canary is in the step, whatever the random draws
    Step plain = oneStep(null, 1.0).get(0);
    GradientCanaries c = new GradientCanaries(new int[] {0, 7}, new boolean[] {true, false});
    Step audited = oneStep(c, 1.0).get(0);
    assertThat(audited.sum()[0] - plain.sum()[0]).isCloseTo(CLIP, within(1e-6));
    for (int i = 1; i < plain.sum().length; i++) {
      assertThat(audited.sum()[i]).as("coordinate %d", i).isEqualTo(plain.sum()[i]);
    }
    // same noise draws: the excluded canary's coordinate is released exactly as without canaries
    assertThat(audited.released()[7]).isEqualTo(plain.released()[7]);
    assertThat(c.scores()[0]).isEqualTo(audited.released()[0]);
    assertThat(c.scores()[1]).isEqualTo(plain.released()[7]);
    assertThat(c.steps()).isEqualTo(1);
  }

  @Test
  void excludedCanariesChangeNothing() {
    Step plain = oneStep(null, 0.3).get(0);
    Step audited = oneStep(new GradientCanaries(new int[] {1, 2, 3}, new boolean[3]), 0.3).get(0);
    assertThat(audited.sum()).containsExactly(plain.sum());
    assertThat(audited.released()).containsExactly(plain.released());
  }

  @Test
  void badCanariesAreNamed() {
    assertThatThrownBy(() -> new GradientCanaries(new int[] {1, 1}, new boolean[2])).hasMessageContaining("distinct");
    assertThatThrownBy(() -> new GradientCanaries(new int[] {1}, new boolean[2])).hasMessageContaining("one inclusion flag");
    assertThatThrownBy(() -> oneStep(new GradientCanaries(new int[] {100_000}, new boolean[] {true}), 1.0))
        .hasMessageContaining("outside the model's");
  }
}

package org.cloister.simulations.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.cloister.data.Dataset;
import org.junit.jupiter.api.Test;

class SyntheticCohortTest {

  @Test
  void aSiteIsAPureFunctionOfSeedAndIndexWhateverTheConsortiumSize() {
    SyntheticCohort small = SyntheticCohort.parse("synthetic", 7, 10);
    SyntheticCohort large = SyntheticCohort.parse("synthetic", 7, 10_000);
    Dataset a = small.site(5);
    Dataset b = large.site(5);
    assertThat(b.labels()).containsExactly(a.labels());
    assertThat(b.features()).isDeepEqualTo(a.features());
    assertThat(large.site(5).features()).isDeepEqualTo(a.features()); // regenerated identically
    assertThat(a.size()).isEqualTo(small.size(5));
    assertThat(SyntheticCohort.parse("synthetic", 8, 10).site(5).features()).isNotEqualTo(a.features());
    assertThat(small.test().features()).isDeepEqualTo(large.test().features());
  }

  @Test
  void sizesAreHeavyTailedAroundTheMedianAndKnownWithoutGeneratingTheSites() {
    SyntheticCohort c = SyntheticCohort.parse("synthetic:examples=100,tail=1.5", 3, 10_000);
    int[] sizes = new int[c.sites()];
    for (int s = 0; s < sizes.length; s++) {
      sizes[s] = c.size(s);
    }
    Arrays.sort(sizes);
    assertThat(sizes[sizes.length / 2]).isBetween(95, 105); // median
    assertThat(sizes[0]).isGreaterThanOrEqualTo(62); // Pareto's minimum at tail 1.5: 100 * 2^(-2/3)
    assertThat(sizes[sizes.length - 1]).isGreaterThan(20 * 100); // a few very large hospitals
    assertThat(SyntheticCohort.parse("synthetic:tail=0,examples=50", 3, 10).size(9)).isEqualTo(50);
  }

  @Test
  void labelSkewAndFeatureShiftAreWhatTheSpecAsks() {
    SyntheticCohort skewed = SyntheticCohort.parse("synthetic:label_skew=0.1,shift=0,tail=0,examples=200", 1, 200);
    SyntheticCohort balanced = SyntheticCohort.parse("synthetic:label_skew=0,shift=1,tail=0,examples=200", 1, 200);
    int extreme = 0;
    double spreadOfSiteMeans = 0;
    for (int s = 0; s < 200; s++) {
      if (Math.abs(positives(skewed.site(s)) - 0.5) > 0.4) {
        extreme++;
      }
      assertThat(positives(balanced.site(s))).isBetween(0.35, 0.65);
      spreadOfSiteMeans += Math.pow(meanOfFirstFeature(balanced.site(s)), 2) / 200;
    }
    assertThat(extreme).as("sites seeing > 90 %% of one class at Dirichlet 0.1").isGreaterThan(120);
    // site means of a feature vary with the shift's variance (1) plus the class centres' and sampling's
    assertThat(spreadOfSiteMeans).isBetween(0.7, 1.5);
    double unshifted = 0;
    SyntheticCohort noShift = SyntheticCohort.parse("synthetic:label_skew=0,shift=0,tail=0,examples=200", 1, 200);
    for (int s = 0; s < 200; s++) {
      unshifted += Math.pow(meanOfFirstFeature(noShift.site(s)), 2) / 200;
    }
    assertThat(unshifted).isLessThan(0.1);
  }

  @Test
  void badSpecsAreRefusedNamingTheKey() {
    assertThatThrownBy(() -> SyntheticCohort.parse("synthetic:skew=1", 1, 10)).hasMessageContaining("skew=1");
    assertThatThrownBy(() -> SyntheticCohort.parse("synthetic:examples=abc", 1, 10)).hasMessageContaining("examples");
    assertThatThrownBy(() -> SyntheticCohort.parse("synthetic:examples=2", 1, 10)).hasMessageContaining("examples");
    assertThatThrownBy(() -> SyntheticCohort.parse("synthetic:shift=-1", 1, 10)).hasMessageContaining("shift");
  }

  private static double positives(Dataset d) {
    return Arrays.stream(d.labels()).average().orElseThrow();
  }

  private static double meanOfFirstFeature(Dataset d) {
    return Arrays.stream(d.features()).mapToDouble(r -> r[0]).average().orElseThrow();
  }
}

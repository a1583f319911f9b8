package org.cloister.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SplitsAndPartitionsTest {
  private final Dataset wdbc = BuiltinDatasets.wdbc();

  @Test
  void stratifiedSplitKeepsClassProportionsAndIsSeeded() {
    TrainTestSplit s = TrainTestSplit.stratified(wdbc, 0.2, 7);
    assertThat(s.test().classCounts()).containsExactly(71, 42);
    assertThat(s.train().size() + s.test().size()).isEqualTo(569);
    TrainTestSplit again = TrainTestSplit.stratified(wdbc, 0.2, 7);
    assertThat(again.test().labels()).containsExactly(s.test().labels());
  }

  @Test
  void standardizerUsesTrainingStatisticsOnly() {
    TrainTestSplit s = TrainTestSplit.stratified(wdbc, 0.2, 7);
    Standardizer st = Standardizer.fit(s.train());
    Dataset t = st.apply(s.train());
    double mean = 0;
    double sq = 0;
    for (double[] r : t.features()) {
      mean += r[0];
      sq += r[0] * r[0];
    }
    mean /= t.size();
    assertThat(mean).isCloseTo(0, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(sq / (t.size() - 1)).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void partitionsCoverEveryRowExactlyOnce() {
    for (Partitioner p : List.of(Partitioners.iid(), Partitioners.dirichlet(0.5), Partitioners.labelSkew(1),
        Partitioners.parse("by-column:radius_mean"))) {
      List<int[]> parts = p.partition(wdbc, 5, 3);
      Set<Integer> seen = new HashSet<>();
      int total = 0;
      for (int[] part : parts) {
        assertThat(part.length).isPositive();
        for (int r : part) {
          seen.add(r);
        }
        total += part.length;
      }
      assertThat(total).isEqualTo(569);
      assertThat(seen).hasSize(569);
    }
  }

  @Test
  void smallDirichletAlphaGivesSkewedLabels() {
    List<Dataset> parts = Partitioners.dirichlet(0.1).split(wdbc, 4, 11);
    double maxSkew = 0;
    for (Dataset d : parts) {
      double frac = d.classCounts()[1] / (double) d.size();
      maxSkew = Math.max(maxSkew, Math.abs(frac - 212.0 / 569));
    }
    assertThat(maxSkew).isGreaterThan(0.2);
  }

  @Test
  void labelSkewOneGivesSingleClassSites() {
    List<Dataset> parts = Partitioners.parse("label-skew:1").split(wdbc, 4, 5);
    for (Dataset d : parts) {
      assertThat(java.util.Arrays.stream(d.classCounts()).filter(c -> c > 0).count()).isEqualTo(1);
    }
  }

  @Test
  void byColumnKeepsEachValueAtOneSite() {
    double[][] f = {{1, 0}, {1, 1}, {2, 2}, {3, 3}, {3, 4}, {3, 5}};
    Dataset d = new Dataset(List.of("hospital", "x"), "y", List.of("0", "1"), f, new int[] {0, 1, 0, 1, 0, 1});
    List<Dataset> parts = Partitioners.parse("by-column:hospital").split(d, 2, 1);
    for (Dataset p : parts) {
      assertThat(java.util.Arrays.stream(p.features()).mapToDouble(r -> r[0]).distinct().count())
          .isLessThanOrEqualTo(2);
    }
    assertThat(parts.get(0).size() + parts.get(1).size()).isEqualTo(6);
    assertThat(parts).extracting(Dataset::size).containsExactlyInAnyOrder(3, 3);
  }

  @Test
  void badPartitionSpecsAreNamed() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Partitioners.parse("stripes"))
        .hasMessageContaining("unknown partition 'stripes'");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Partitioners.parse("by-column:zzz").split(wdbc, 2, 1))
        .hasMessageContaining("no column 'zzz'");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Partitioners.parse("dirichlet:x"))
        .hasMessageContaining("needs a number");
  }
}

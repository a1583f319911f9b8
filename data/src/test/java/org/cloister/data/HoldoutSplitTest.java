package org.cloister.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Issue 18 (federated evaluation): the held-out split is disjoint, deterministic and stable per record. */
class HoldoutSplitTest {
  private static Dataset rows(int n, int offset) {
    double[][] f = new double[n][];
    int[] l = new int[n];
    for (int i = 0; i < n; i++) {
      f[i] = new double[] {i + offset, (i + offset) * 0.5};
      l[i] = Math.floorMod(i + offset, 2);
    }
    return new Dataset(List.of("a", "b"), "y", List.of("0", "1"), f, l);
  }

  @Test
  void disjointCoveringDeterministicAndNearTheFraction() {
    Dataset d = rows(4000, 0);
    HoldoutSplit s = HoldoutSplit.of(d, d, 0.2, "dataset-1");
    Set<Integer> train = new HashSet<>();
    Arrays.stream(s.trainRows()).forEach(train::add);
    assertThat(Arrays.stream(s.holdoutRows()).noneMatch(train::contains)).isTrue();
    assertThat(s.trainRows().length + s.holdoutRows().length).isEqualTo(4000);
    assertThat(s.train().size()).isEqualTo(s.trainRows().length);
    // binomial(4000, 0.2): sd 25
    assertThat(s.holdout().size()).isBetween(800 - 100, 800 + 100);
    HoldoutSplit again = HoldoutSplit.of(d, d, 0.2, "dataset-1");
    assertThat(again.holdoutRows()).isEqualTo(s.holdoutRows());
    assertThat(HoldoutSplit.of(d, d, 0.2, "dataset-2").holdoutRows()).isNotEqualTo(s.holdoutRows());
  }

  @Test
  void addingOrRemovingARecordMovesNoOtherRecord() {
    // a split by shuffled positions moves many rows when one is added: then neighbouring datasets would differ in
    // many training records and the accounting (one record in one of the two splits) would not hold
    Dataset d = rows(500, 0);
    Dataset withOneMore = rows(501, -1); // one extra record at the front: every position shifts
    HoldoutSplit a = HoldoutSplit.of(d, d, 0.3, "k");
    HoldoutSplit b = HoldoutSplit.of(withOneMore, withOneMore, 0.3, "k");
    int[] shifted = Arrays.stream(b.holdoutRows()).filter(i -> i > 0).map(i -> i - 1).toArray();
    assertThat(shifted).isEqualTo(a.holdoutRows());
  }

  @Test
  void theFractionMustBeAProperFraction() {
    Dataset d = rows(10, 0);
    assertThatThrownBy(() -> HoldoutSplit.of(d, d, 0, "k")).hasMessageContaining("(0, 1)");
    assertThatThrownBy(() -> HoldoutSplit.of(d, d, 1, "k")).hasMessageContaining("(0, 1)");
    assertThatThrownBy(() -> HoldoutSplit.of(d, rows(9, 0), 0.5, "k")).hasMessageContaining("not the data's rows");
    assertThat(IntStream.of(HoldoutSplit.of(d, d, 0.5, "k").trainRows()).count()).isLessThanOrEqualTo(10);
  }
}

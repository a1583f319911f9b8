package org.cloister.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A train/test split of one dataset. */
public record TrainTestSplit(Dataset train, Dataset test) {

  /**
   * Stratified split: each class contributes round(testFraction * count) rows to the test set,
   * chosen by a seeded shuffle.
   */
  public static TrainTestSplit stratified(Dataset data, double testFraction, long seed) {
    if (!(testFraction > 0 && testFraction < 1)) {
      throw new IllegalArgumentException("testFraction must be in (0,1), got " + testFraction);
    }
    Random rng = new Random(seed);
    List<Integer> train = new ArrayList<>();
    List<Integer> test = new ArrayList<>();
    for (int c = 0; c < data.numClasses(); c++) {
      List<Integer> rows = new ArrayList<>();
      for (int i = 0; i < data.size(); i++) {
        if (data.labels()[i] == c) {
          rows.add(i);
        }
      }
      java.util.Collections.shuffle(rows, rng);
      int nTest = (int) Math.round(testFraction * rows.size());
      test.addAll(rows.subList(0, nTest));
      train.addAll(rows.subList(nTest, rows.size()));
    }
    java.util.Collections.shuffle(train, rng);
    java.util.Collections.shuffle(test, rng);
    return new TrainTestSplit(data.subset(toArray(train)), data.subset(toArray(test)));
  }

  static int[] toArray(List<Integer> l) {
    return l.stream().mapToInt(Integer::intValue).toArray();
  }
}

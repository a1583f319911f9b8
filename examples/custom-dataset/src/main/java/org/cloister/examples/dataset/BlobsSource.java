package org.cloister.examples.dataset;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.cloister.data.Dataset;
import org.cloister.data.DatasetSource;
import org.cloister.data.FeatureRule;
import org.cloister.data.PreprocessingSpec;

/**
 * Serves {@code blobs:n=N,features=F,seed=S} (each optional: 400, 4, 1): two Gaussian clusters with
 * unit variance, centred at -1 and +1 in every feature, labelled {@code a} and {@code b}. The bounds
 * of every feature are public ([-5, 5]: the generator's, not the data's), so no site spends budget
 * on estimating them. Registered in {@code META-INF/services/org.cloister.data.DatasetSource}.
 */
public final class BlobsSource implements DatasetSource {
  @Override
  public String scheme() {
    return "blobs";
  }

  @Override
  public Loaded load(String argument, String label) {
    Map<String, Integer> p = new LinkedHashMap<>(Map.of("n", 400, "features", 4, "seed", 1));
    if (!argument.isEmpty()) {
      for (String kv : argument.split(",")) {
        String[] parts = kv.split("=", 2);
        if (parts.length != 2 || !p.containsKey(parts[0])) {
          throw new IllegalArgumentException("blobs: '" + kv + "' is not one of n=N, features=F, seed=S");
        }
        try {
          p.put(parts[0], Integer.parseInt(parts[1]));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("blobs: '" + parts[0] + "' must be a whole number, got '" + parts[1] + "'");
        }
      }
    }
    int n = p.get("n");
    int f = p.get("features");
    if (n < 2 || f < 1) {
      throw new IllegalArgumentException("blobs: n must be >= 2 and features >= 1, got n=" + n + ", features=" + f);
    }
    SplittableRandom rnd = new SplittableRandom(p.get("seed"));
    double[][] x = new double[n][f];
    int[] y = new int[n];
    List<String> names = new ArrayList<>();
    List<FeatureRule> rules = new ArrayList<>();
    for (int j = 0; j < f; j++) {
      names.add("x" + j);
      rules.add(FeatureRule.bounds("x" + j, -5, 5));
    }
    for (int i = 0; i < n; i++) {
      y[i] = i % 2;
      for (int j = 0; j < f; j++) {
        x[i][j] = Math.max(-5, Math.min(5, (y[i] == 0 ? -1 : 1) + gaussian(rnd)));
      }
    }
    return new Loaded(new Dataset(names, label == null ? "cluster" : label, List.of("a", "b"), x, y),
        new PreprocessingSpec(rules));
  }

  private static double gaussian(SplittableRandom rnd) {
    double u = 1 - rnd.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd.nextDouble());
  }
}

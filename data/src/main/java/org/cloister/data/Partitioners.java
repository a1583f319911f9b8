package org.cloister.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/** The built-in partitioners. */
public final class Partitioners {
  private Partitioners() {
  }

  /** Parses {@code iid}, {@code dirichlet:ALPHA}, {@code label-skew:K} or {@code by-column:NAME}. */
  public static Partitioner parse(String spec) {
    if (spec.equals("iid")) {
      return iid();
    }
    if (spec.startsWith("label-skew:")) {
      String k = spec.substring("label-skew:".length());
      try {
        return labelSkew(Integer.parseInt(k));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("partition 'label-skew:K' needs a whole number, got '" + k + "'");
      }
    }
    if (spec.startsWith("by-column:")) {
      String col = spec.substring("by-column:".length());
      if (col.isEmpty()) {
        throw new IllegalArgumentException("partition 'by-column:NAME' needs a column name");
      }
      return byColumn(col);
    }
    if (spec.startsWith("dirichlet:")) {
      String a = spec.substring("dirichlet:".length());
      try {
        return dirichlet(Double.parseDouble(a));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("partition 'dirichlet:ALPHA' needs a number, got '" + a + "'");
      }
    }
    throw new IllegalArgumentException("unknown partition '" + spec
        + "' (expected iid, dirichlet:ALPHA, label-skew:K or by-column:NAME)");
  }

  /** Shuffled, as-equal-as-possible shares, stratified by class so each site sees every class. */
  public static Partitioner iid() {
    return (data, sites, seed) -> {
      checkSites(data, sites);
      Random rng = new Random(seed);
      List<List<Integer>> parts = emptyParts(sites);
      int next = 0;
      for (int c = 0; c < data.numClasses(); c++) {
        List<Integer> rows = rowsOfClass(data, c);
        Collections.shuffle(rows, rng);
        for (int r : rows) {
          parts.get(next).add(r);
          next = (next + 1) % sites;
        }
      }
      return toArrays(parts);
    };
  }

  /**
   * Label-distribution skew: for each class, site shares are drawn from Dirichlet(alpha). Small
   * alpha gives very non-IID sites. Every site receives at least {@code minPerSite} rows (rows are
   * moved from the largest site when needed) so that no hospital is empty.
   */
  public static Partitioner dirichlet(double alpha) {
    if (!(alpha > 0)) {
      throw new IllegalArgumentException("dirichlet alpha must be > 0, got " + alpha);
    }
    return (data, sites, seed) -> {
      checkSites(data, sites);
      Random rng = new Random(seed);
      List<List<Integer>> parts = emptyParts(sites);
      for (int c = 0; c < data.numClasses(); c++) {
        List<Integer> rows = rowsOfClass(data, c);
        Collections.shuffle(rows, rng);
        double[] p = new double[sites];
        double sum = 0;
        for (int s = 0; s < sites; s++) {
          p[s] = gamma(alpha, rng);
          sum += p[s];
        }
        int start = 0;
        double cum = 0;
        for (int s = 0; s < sites; s++) {
          cum += p[s] / sum;
          int end = s == sites - 1 ? rows.size() : (int) Math.round(cum * rows.size());
          parts.get(s).addAll(rows.subList(start, Math.max(start, end)));
          start = Math.max(start, end);
        }
      }
      int minPerSite = Math.max(1, Math.min(10, data.size() / (sites * 2)));
      for (List<Integer> part : parts) {
        while (part.size() < minPerSite) {
          List<Integer> largest = Collections.max(parts, (a, b) -> Integer.compare(a.size(), b.size()));
          part.add(largest.remove(largest.size() - 1));
        }
      }
      for (List<Integer> part : parts) {
        Collections.shuffle(part, rng);
      }
      return toArrays(parts);
    };
  }

  /**
   * Pathological label skew (McMahan et al. 2017): each site holds examples of only {@code k}
   * classes. Classes are assigned to sites round-robin, then each class's rows are shared among
   * the sites that hold it.
   */
  public static Partitioner labelSkew(int k) {
    if (k < 1) {
      throw new IllegalArgumentException("label-skew K must be >= 1, got " + k);
    }
    return (data, sites, seed) -> {
      checkSites(data, sites);
      int classes = data.numClasses();
      int kk = Math.min(k, classes);
      Random rng = new Random(seed);
      List<List<Integer>> holders = new ArrayList<>();
      for (int c = 0; c < classes; c++) {
        holders.add(new ArrayList<>());
      }
      for (int s = 0; s < sites; s++) {
        for (int j = 0; j < kk; j++) {
          holders.get((s * kk + j) % classes).add(s);
        }
      }
      List<List<Integer>> parts = emptyParts(sites);
      for (int c = 0; c < classes; c++) {
        List<Integer> rows = rowsOfClass(data, c);
        Collections.shuffle(rows, rng);
        List<Integer> h = holders.get(c);
        if (h.isEmpty()) {
          h = List.of(c % sites); // more classes than site slots: give the class to one site anyway
        }
        for (int i = 0; i < rows.size(); i++) {
          parts.get(h.get(i % h.size())).add(rows.get(i));
        }
      }
      for (int s = 0; s < sites; s++) {
        if (parts.get(s).isEmpty()) {
          throw new IllegalArgumentException("label-skew:" + k + " leaves site " + (s + 1) + " without data ("
              + sites + " sites, " + classes + " classes)");
        }
      }
      return toArrays(parts);
    };
  }

  /**
   * Natural partition by the value of one feature column (e.g. a hospital or region code): each
   * distinct value is one group, and groups are dealt to sites largest first, each to the site with
   * the fewest rows so far. The column stays a feature.
   */
  public static Partitioner byColumn(String column) {
    return (data, sites, seed) -> {
      checkSites(data, sites);
      int col = data.featureNames().indexOf(column);
      if (col < 0) {
        throw new IllegalArgumentException("by-column: no column '" + column + "' among the features " + data.featureNames());
      }
      java.util.Map<Double, List<Integer>> groups = new java.util.TreeMap<>();
      for (int i = 0; i < data.size(); i++) {
        groups.computeIfAbsent(data.features()[i][col], v -> new ArrayList<>()).add(i);
      }
      if (groups.size() < sites) {
        throw new IllegalArgumentException("by-column:" + column + " has " + groups.size()
            + " distinct values, fewer than the " + sites + " sites");
      }
      List<List<Integer>> ordered = new ArrayList<>(groups.values());
      ordered.sort((a, b) -> Integer.compare(b.size(), a.size()));
      List<List<Integer>> parts = emptyParts(sites);
      for (List<Integer> g : ordered) {
        List<Integer> smallest = Collections.min(parts, (a, b) -> Integer.compare(a.size(), b.size()));
        smallest.addAll(g);
      }
      Random rng = new Random(seed);
      for (List<Integer> part : parts) {
        Collections.shuffle(part, rng);
      }
      return toArrays(parts);
    };
  }

  /** Marsaglia-Tsang gamma sampler (shape alpha, scale 1). */
  static double gamma(double alpha, Random rng) {
    if (alpha < 1) {
      double u = rng.nextDouble();
      return gamma(alpha + 1, rng) * Math.pow(u, 1.0 / alpha);
    }
    double d = alpha - 1.0 / 3;
    double c = 1 / Math.sqrt(9 * d);
    while (true) {
      double x = rng.nextGaussian();
      double v = 1 + c * x;
      if (v <= 0) {
        continue;
      }
      v = v * v * v;
      double u = rng.nextDouble();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) {
        return d * v;
      }
    }
  }

  private static void checkSites(Dataset data, int sites) {
    if (sites < 1) {
      throw new IllegalArgumentException("sites must be >= 1, got " + sites);
    }
    if (sites > data.size()) {
      throw new IllegalArgumentException(sites + " sites but only " + data.size() + " rows");
    }
  }

  private static List<Integer> rowsOfClass(Dataset data, int c) {
    List<Integer> rows = new ArrayList<>();
    for (int i = 0; i < data.size(); i++) {
      if (data.labels()[i] == c) {
        rows.add(i);
      }
    }
    return rows;
  }

  private static List<List<Integer>> emptyParts(int sites) {
    List<List<Integer>> parts = new ArrayList<>();
    for (int s = 0; s < sites; s++) {
      parts.add(new ArrayList<>());
    }
    return parts;
  }

  private static List<int[]> toArrays(List<List<Integer>> parts) {
    return parts.stream().map(TrainTestSplit::toArray).toList();
  }
}

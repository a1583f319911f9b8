package org.cloister.simulations.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.cloister.data.Dataset;
import org.cloister.dp.events.DpEvent;

/**
 * A synthetic consortium of any size, generated site by site from the seed and never stored: site
 * {@code s}'s rows are a pure function of (seed, s), so whichever worker trains it regenerates
 * them, and 10,000 sites cost no memory between rounds. Non-IID structure is controlled by:
 * <ul>
 *   <li>{@code label_skew=A}: each site's class proportions are drawn from a symmetric Dirichlet(A)
 *       (small A: a site sees mostly one class; 0 turns it off: every site has the population's
 *       balanced classes);</li>
 *   <li>{@code shift=S}: each site's features are offset by a site-level vector drawn from N(0, S^2)
 *       per feature (covariate shift: different populations and instruments);</li>
 *   <li>{@code examples=N} and {@code tail=T}: site sizes are N times a Pareto(T) draw with median 1,
 *       heavy-tailed (many small hospitals, a few large ones), at least 8 and at most 100 N rows;
 *       {@code tail=0} gives every site exactly N rows.</li>
 * </ul>
 * Each class is a Gaussian around a class centre (a fixed direction of the seed, separation
 * {@code separation=D} in units of the noise), with {@code features=F} model-ready inputs (already
 * on a public unit scale: nothing is estimated from the rows). The test split is drawn from the
 * population: balanced classes, a fresh site shift per row.
 *
 * <p>Spec: {@code synthetic} or {@code synthetic:features=30,examples=100,tail=1.5,label_skew=0.5,shift=0.3,separation=2}.
 */
public final class SyntheticCohort implements SiteSource {
  private static final int MIN_SIZE = 8;
  private static final int TEST_ROWS = 2000;
  private static final List<String> CLASSES = List.of("0", "1");

  private final long seed;
  private final int sites;
  private final int features;
  private final int examples;
  private final double tail;
  private final double labelSkew;
  private final double shift;
  private final double separation;
  private final double[] direction;
  private final List<String> featureNames;
  private final Dataset test;

  public SyntheticCohort(long seed, int sites, int features, int examples, double tail, double labelSkew, double shift,
                         double separation) {
    if (sites < 1) {
      throw new IllegalArgumentException("synthetic: sites must be >= 1, got " + sites);
    }
    check("features", features >= 1 && features <= 100_000, features);
    check("examples", examples >= MIN_SIZE && examples <= 1_000_000, examples);
    check("tail", tail == 0 || (tail >= 0.5 && Double.isFinite(tail)), tail);
    check("label_skew", labelSkew >= 0 && Double.isFinite(labelSkew), labelSkew);
    check("shift", shift >= 0 && Double.isFinite(shift), shift);
    check("separation", separation > 0 && Double.isFinite(separation), separation);
    this.seed = seed;
    this.sites = sites;
    this.features = features;
    this.examples = examples;
    this.tail = tail;
    this.labelSkew = labelSkew;
    this.shift = shift;
    this.separation = separation;
    SplittableRandom r = new SplittableRandom(mix(seed, -1, 0));
    double[] u = new double[features];
    double norm = 0;
    for (int i = 0; i < features; i++) {
      u[i] = gaussian(r);
      norm += u[i] * u[i];
    }
    for (int i = 0; i < features; i++) {
      u[i] /= Math.sqrt(norm);
    }
    this.direction = u;
    List<String> names = new ArrayList<>(features);
    for (int i = 0; i < features; i++) {
      names.add("x" + (i + 1));
    }
    this.featureNames = List.copyOf(names);
    this.test = population();
  }

  private static void check(String key, boolean ok, Object value) {
    if (!ok) {
      throw new IllegalArgumentException("synthetic: " + key + " out of range: " + value
          + " (features 1..100000, examples 8..1000000, tail 0 or >= 0.5, label_skew >= 0, shift >= 0, separation > 0)");
    }
  }

  /** Parses {@code synthetic[:key=value,...]} (keys as in the class comment). */
  public static SyntheticCohort parse(String spec, long seed, int sites) {
    Map<String, Double> v = new LinkedHashMap<>(Map.of("features", 30.0, "examples", 100.0, "tail", 1.5,
        "label_skew", 0.5, "shift", 0.3, "separation", 2.0));
    if (!spec.equals("synthetic")) {
      if (!spec.startsWith("synthetic:")) {
        throw new IllegalArgumentException("not a synthetic dataset spec: '" + spec + "'");
      }
      for (String kv : spec.substring("synthetic:".length()).split(",")) {
        String[] p = kv.split("=", 2);
        String key = p[0].trim();
        if (p.length != 2 || !v.containsKey(key)) {
          throw new IllegalArgumentException("synthetic: unknown or incomplete setting '" + kv + "' (keys: " + v.keySet() + ")");
        }
        try {
          v.put(key, Double.parseDouble(p[1].trim()));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("synthetic: " + key + " must be a number, got '" + p[1] + "'");
        }
      }
    }
    for (String integral : List.of("features", "examples")) {
      if (v.get(integral) != Math.rint(v.get(integral))) {
        throw new IllegalArgumentException("synthetic: " + integral + " must be a whole number, got " + v.get(integral));
      }
    }
    return new SyntheticCohort(seed, sites, v.get("features").intValue(), v.get("examples").intValue(), v.get("tail"),
        v.get("label_skew"), v.get("shift"), v.get("separation"));
  }

  public static boolean isSynthetic(String dataset) {
    return dataset.equals("synthetic") || dataset.startsWith("synthetic:");
  }

  @Override
  public int sites() {
    return sites;
  }

  @Override
  public Dataset test() {
    return test;
  }

  @Override
  public int size(int site) {
    if (tail == 0) {
      return examples;
    }
    SplittableRandom r = new SplittableRandom(mix(seed, site, 1));
    double pareto = Math.pow(2 * (1 - r.nextDouble()), -1 / tail); // Pareto(tail) scaled to median 1
    return (int) Math.max(MIN_SIZE, Math.min(100L * examples, Math.round(examples * pareto)));
  }

  @Override
  public Dataset site(int site) {
    if (site < 0 || site >= sites) {
      throw new IllegalArgumentException("site " + site + " outside [0, " + sites + ")");
    }
    SplittableRandom r = new SplittableRandom(mix(seed, site, 2));
    double p1 = 0.5;
    if (labelSkew > 0) {
      double a = gamma(r, labelSkew);
      double b = gamma(r, labelSkew);
      p1 = a + b > 0 ? a / (a + b) : 0.5;
    }
    double[] offset = new double[features];
    for (int i = 0; i < features; i++) {
      offset[i] = shift * gaussian(r);
    }
    int n = size(site);
    double[][] x = new double[n][];
    int[] y = new int[n];
    for (int row = 0; row < n; row++) {
      y[row] = r.nextDouble() < p1 ? 1 : 0;
      x[row] = row(r, y[row], offset);
    }
    return new Dataset(featureNames, "label", CLASSES, x, y);
  }

  @Override
  public DpEvent preprocessingEvent() {
    return null; // inputs are generated on a public scale: no statistic of the rows is released
  }

  /** All sites' rows as partitions (for the grpc engine, which holds every site's data): small consortia only. */
  public List<Dataset> materialize() {
    List<Dataset> out = new ArrayList<>(sites);
    for (int s = 0; s < sites; s++) {
      out.add(site(s));
    }
    return out;
  }

  private Dataset population() {
    SplittableRandom r = new SplittableRandom(mix(seed, -2, 3));
    double[][] x = new double[TEST_ROWS][];
    int[] y = new int[TEST_ROWS];
    double[] offset = new double[features];
    for (int row = 0; row < TEST_ROWS; row++) {
      for (int i = 0; i < features; i++) {
        offset[i] = shift * gaussian(r);
      }
      y[row] = row % 2;
      x[row] = row(r, y[row], offset);
    }
    return new Dataset(featureNames, "label", CLASSES, x, y);
  }

  private double[] row(SplittableRandom r, int label, double[] offset) {
    double sign = label == 1 ? 0.5 : -0.5;
    double[] v = new double[features];
    for (int i = 0; i < features; i++) {
      double value = sign * separation * direction[i] + offset[i] + gaussian(r);
      v[i] = Math.max(-6, Math.min(6, value)); // a public bound on every input
    }
    return v;
  }

  /** Independent stream per (seed, site, purpose): SplitMix64 finalizer over the three. */
  private static long mix(long seed, long site, long purpose) {
    long z = seed * 0x9E3779B97F4A7C15L + site * 0xBF58476D1CE4E5B9L + purpose * 0x94D049BB133111EBL;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static double gaussian(SplittableRandom r) {
    double u1 = 1 - r.nextDouble();
    double u2 = r.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Gamma(shape, 1) by Marsaglia and Tsang (with the boost for shape < 1). */
  private static double gamma(SplittableRandom r, double shape) {
    if (shape < 1) {
      return gamma(r, shape + 1) * Math.pow(r.nextDouble(), 1 / shape);
    }
    double d = shape - 1.0 / 3;
    double c = 1 / Math.sqrt(9 * d);
    while (true) {
      double x = gaussian(r);
      double v = 1 + c * x;
      if (v <= 0) {
        continue;
      }
      v = v * v * v;
      double u = r.nextDouble();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) {
        return d * v;
      }
    }
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "synthetic cohort: %d sites, %d features, %d examples (median) tail %s, label skew %s,"
        + " shift %s", sites, features, examples, tail, labelSkew, shift);
  }
}

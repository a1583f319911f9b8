package org.cloister.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A study's feature handling, one {@link FeatureRule} per feature, declared in the study or
 * scenario file (and in the consortium's provisioned site kits) before any record is seen:
 *
 * <pre>
 * preprocessing:
 *   age:     {bounds: [18, 100]}          # public clinical bounds: clamp, centre and scale from them
 *   crp:     {log_bounds: [0.1, 300]}     # the same on log x (clamp x, then log): right-skewed positive values
 *   bmi:     {centre: 25, scale: 5}       # public constants (with optional bounds: [lo, hi])
 *   glucose: {private: [40, 400]}         # DP mean and variance within public bounds
 *   ldl:     {private: auto}              # DP estimate on asinh(x): nothing known about the feature
 * </pre>
 */
public record PreprocessingSpec(List<FeatureRule> rules) {
  public PreprocessingSpec {
    rules = List.copyOf(rules);
  }

  /** Every feature estimated privately without declared bounds: what a study gets when it declares nothing. */
  public static PreprocessingSpec privateDefault(List<String> features) {
    return new PreprocessingSpec(features.stream().map(FeatureRule::privateDefault).toList());
  }

  public List<String> features() {
    return rules.stream().map(FeatureRule::feature).toList();
  }

  /** Whether any feature needs a private estimate (a DP release counted in the site's epsilon). */
  public boolean needsPrivateEstimate() {
    return rules.stream().anyMatch(r -> r.kind() == FeatureRule.Kind.PRIVATE);
  }

  /** The rules in the order of {@code features}: each feature has exactly one rule, and every rule a feature. */
  public PreprocessingSpec orderedFor(List<String> features) {
    Map<String, FeatureRule> byName = new LinkedHashMap<>();
    for (FeatureRule r : rules) {
      if (byName.put(r.feature(), r) != null) {
        throw new IllegalArgumentException("preprocessing: feature '" + r.feature() + "' is declared twice");
      }
    }
    List<FeatureRule> out = new ArrayList<>();
    for (String f : features) {
      FeatureRule r = byName.remove(f);
      if (r == null) {
        throw new IllegalArgumentException("preprocessing: no rule for feature '" + f + "' (declare bounds, centre/scale or private)");
      }
      out.add(r);
    }
    if (!byName.isEmpty()) {
      throw new IllegalArgumentException("preprocessing: " + byName.keySet() + " are not features of the data " + features);
    }
    return new PreprocessingSpec(out);
  }

  /** The transform when every rule is public. */
  public Preprocessing resolvePublic() {
    if (needsPrivateEstimate()) {
      throw new IllegalStateException("preprocessing has private rules: resolve it with PrivateFeatureStats");
    }
    return new Preprocessing(features(), rules.stream()
        .map(r -> new FeatureTransform(r.lo(), r.hi(), r.centre(), r.scale(), r.transform())).toList());
  }

  /**
   * Parses the {@code preprocessing:} mapping of a study or scenario file (feature name to rule);
   * errors name {@code where} and the feature.
   */
  public static PreprocessingSpec parse(Map<?, ?> m, String where) {
    List<FeatureRule> rules = new ArrayList<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      String f = String.valueOf(e.getKey());
      String at = where + ": preprocessing." + f;
      if (!(e.getValue() instanceof Map<?, ?> r)) {
        throw new IllegalArgumentException(at + " must be a mapping ({bounds: [lo, hi]}, {centre: C, scale: S} or {private: [lo, hi] | auto})");
      }
      for (Object k : r.keySet()) {
        if (!List.of("bounds", "log_bounds", "centre", "scale", "private").contains(String.valueOf(k))) {
          throw new IllegalArgumentException(at + ": unknown key '" + k + "' (known: bounds, log_bounds, centre, scale, private)");
        }
      }
      try {
        if (r.containsKey("private")) {
          if (r.size() != 1) {
            throw new IllegalArgumentException("'private' excludes bounds, centre and scale");
          }
          Object p = r.get("private");
          rules.add("auto".equals(p) ? FeatureRule.privateDefault(f) : privateRule(f, pair(p)));
        } else if (r.containsKey("log_bounds")) {
          if (r.size() != 1) {
            throw new IllegalArgumentException("'log_bounds' excludes bounds, centre and scale");
          }
          double[] b = pair(r.get("log_bounds"));
          rules.add(FeatureRule.logBounds(f, b[0], b[1]));
        } else if (r.containsKey("centre") || r.containsKey("scale")) {
          double[] b = r.containsKey("bounds") ? pair(r.get("bounds")) : new double[] {Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY};
          rules.add(new FeatureRule(f, FeatureRule.Kind.PUBLIC, b[0], b[1], number(r.get("centre"), "centre"),
              number(r.get("scale"), "scale"), FeatureRule.Transform.IDENTITY));
        } else if (r.containsKey("bounds")) {
          double[] b = pair(r.get("bounds"));
          rules.add(FeatureRule.bounds(f, b[0], b[1]));
        } else {
          throw new IllegalArgumentException("give bounds, centre and scale, or private");
        }
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException(at + ": " + ex.getMessage(), ex);
      }
    }
    return new PreprocessingSpec(rules);
  }

  private static FeatureRule privateRule(String f, double[] b) {
    return FeatureRule.privateWithin(f, b[0], b[1]);
  }

  private static double[] pair(Object v) {
    if (v instanceof List<?> l && l.size() == 2) {
      return new double[] {number(l.get(0), "lower bound"), number(l.get(1), "upper bound")};
    }
    throw new IllegalArgumentException("bounds must be a list [lo, hi], got " + v);
  }

  private static double number(Object v, String what) {
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    throw new IllegalArgumentException(what + " must be a number, got '" + v + "'");
  }
}

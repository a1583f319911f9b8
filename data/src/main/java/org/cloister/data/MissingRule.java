package org.cloister.data;

import java.util.Locale;

/**
 * What a study does with a missing value in a feature column, declared before any record is seen.
 * Every rule looks at one record only, so adding or removing a patient moves no other patient's
 * inputs and DP-SGD's per-record accounting still covers the study:
 *
 * <ul>
 *   <li>{@code fail}: the value is an error naming its line and column (the default: nothing is
 *       filled in silently);</li>
 *   <li>{@code skip}: the row is dropped (and counted in the load result);</li>
 *   <li>{@code centre}: the value becomes the feature's centre in its {@link FeatureRule}: a public
 *       constant, or for a {@code private} rule the DP-released mean, already counted in the site's
 *       epsilon (so imputation costs nothing more);</li>
 *   <li>{@code constant:V}: the public value V (then clamped and scaled like any other value).</li>
 * </ul>
 *
 * <p>A mean or median of the site's own rows is deliberately not offered: it is a data-dependent
 * statistic (a release of the site's data that no accountant counts), and it makes one record's
 * input depend on every other record's value. Declare the feature {@code private} and use
 * {@code centre} for a DP estimate instead.
 */
public record MissingRule(Kind kind, double constant) {

  /** The kinds of rule. */
  public enum Kind { FAIL, SKIP, CENTRE, CONSTANT }

  public static final MissingRule FAIL = new MissingRule(Kind.FAIL, Double.NaN);
  public static final MissingRule SKIP = new MissingRule(Kind.SKIP, Double.NaN);
  public static final MissingRule CENTRE = new MissingRule(Kind.CENTRE, Double.NaN);

  public MissingRule {
    java.util.Objects.requireNonNull(kind, "kind");
    if (kind == Kind.CONSTANT && !Double.isFinite(constant)) {
      throw new IllegalArgumentException("a constant for missing values must be a finite number, got " + constant);
    }
  }

  /**
   * Parses {@code fail}, {@code skip}, {@code centre} (or {@code center}) or {@code constant:V}.
   *
   * @throws IllegalArgumentException naming the accepted forms
   */
  public static MissingRule parse(String s) {
    String t = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
    switch (t) {
      case "fail":
        return FAIL;
      case "skip":
        return SKIP;
      case "centre":
      case "center":
        return CENTRE;
      default:
        break;
    }
    if (t.startsWith("constant:")) {
      String v = t.substring("constant:".length()).trim();
      try {
        return new MissingRule(Kind.CONSTANT, Double.parseDouble(v));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("missing-value rule 'constant:" + v + "': '" + v + "' is not a number");
      }
    }
    throw new IllegalArgumentException("unknown missing-value rule '" + s + "' (fail, skip, centre or constant:VALUE)");
  }

  @Override
  public String toString() {
    return kind == Kind.CONSTANT ? "constant:" + constant : kind.name().toLowerCase(Locale.ROOT);
  }
}

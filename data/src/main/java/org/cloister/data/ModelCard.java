package org.cloister.data;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What travels with a study's model so that whoever uses it feeds it what it was trained on: the
 * study, the feature columns in model-input order with the study's public rule for each (bounds,
 * transform, centre, scale: {@link FeatureRule}), and the classes in class-index order (the label
 * values of the sites' files and their human names). It holds no weights and nothing estimated
 * from any record: every constant was declared before training.
 *
 * <p>Its canonical JSON ({@link #toJson()}, format {@value #FORMAT}) is what parties bind: the
 * inference enclave's policy embeds it (measured into PCR2, so a host that alters it changes PCR2
 * and clients refuse), and {@code cloister provision} writes it into every member's kit.
 *
 * @param format   {@value #FORMAT}
 * @param studyId  the study
 * @param classes  the classes in class-index order
 * @param features the features in model-input order
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelCard(@JsonProperty("format") String format,
                        @JsonProperty("study_id") String studyId,
                        @JsonProperty("classes") List<ClassEntry> classes,
                        @JsonProperty("features") List<Feature> features) {
  public static final String FORMAT = "cloister-model-card/v1";
  /** The file name beside a model (in kits, exports and simulation output). */
  public static final String FILE = "model-card.json";
  /** Relative slack when checking a value against log-scale bounds (exp/log round trip). */
  private static final double LOG_SLACK = 1e-12;

  /**
   * One class.
   *
   * @param label the value in the label column of the sites' files
   * @param name  what it means (shown with predictions); the label when the study names none
   */
  public record ClassEntry(@JsonProperty("label") String label, @JsonProperty("name") String name) {
    public ClassEntry {
      if (label == null || label.isBlank()) {
        throw new IllegalArgumentException("model card: a class label is missing");
      }
      if (name == null || name.isBlank()) {
        name = label;
      }
    }
  }

  /**
   * One feature's rule, as {@link FeatureRule} declares it. {@code lo}/{@code hi} are on the
   * transform's scale (null: unbounded); centre and scale are null for a privately estimated rule.
   */
  public record Feature(@JsonProperty("name") String name,
                        @JsonProperty("kind") String kind,
                        @JsonProperty("transform") String transform,
                        @JsonProperty("lo") Double lo,
                        @JsonProperty("hi") Double hi,
                        @JsonProperty("centre") Double centre,
                        @JsonProperty("scale") Double scale) {

    static Feature of(FeatureRule r) {
      boolean pub = r.kind() == FeatureRule.Kind.PUBLIC;
      return new Feature(r.feature(), r.kind().name().toLowerCase(Locale.ROOT), r.transform().name().toLowerCase(Locale.ROOT),
          Double.isInfinite(r.lo()) ? null : r.lo(), Double.isInfinite(r.hi()) ? null : r.hi(),
          pub ? r.centre() : null, pub ? r.scale() : null);
    }

    FeatureRule rule() {
      FeatureRule.Kind k;
      FeatureRule.Transform t;
      try {
        k = FeatureRule.Kind.valueOf(String.valueOf(kind).toUpperCase(Locale.ROOT));
        t = FeatureRule.Transform.valueOf(String.valueOf(transform).toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("model card: feature '" + name + "': kind must be public or private and "
            + "transform identity, log or asinh, got " + kind + " and " + transform);
      }
      double l = lo == null ? Double.NEGATIVE_INFINITY : lo;
      double h = hi == null ? Double.POSITIVE_INFINITY : hi;
      return new FeatureRule(name, k, l, h, centre == null ? Double.NaN : centre, scale == null ? Double.NaN : scale, t);
    }
  }

  public ModelCard {
    if (!FORMAT.equals(format)) {
      throw new IllegalArgumentException("model card format must be '" + FORMAT + "', got '" + format + "'");
    }
    if (studyId == null || studyId.isBlank()) {
      throw new IllegalArgumentException("model card: study_id is missing");
    }
    classes = List.copyOf(Objects.requireNonNull(classes, "model card: classes"));
    features = List.copyOf(Objects.requireNonNull(features, "model card: features"));
    if (classes.size() < 2) {
      throw new IllegalArgumentException("model card: a study needs at least two classes, got " + classes.size());
    }
    if (features.isEmpty()) {
      throw new IllegalArgumentException("model card: no features");
    }
    if (new HashSet<>(features.stream().map(Feature::name).toList()).size() != features.size()) {
      throw new IllegalArgumentException("model card: duplicate feature names");
    }
    if (new HashSet<>(classes.stream().map(ClassEntry::label).toList()).size() != classes.size()) {
      throw new IllegalArgumentException("model card: duplicate class labels");
    }
    for (Feature f : features) {
      f.rule(); // validates the rule as the trainer does
    }
  }

  /**
   * The card of a study: its schema's features (model-input order) and class labels, the rule of
   * each feature from {@code spec}, and {@code classNames} (index order; null or empty: the labels).
   */
  public static ModelCard of(String studyId, StudySchema schema, PreprocessingSpec spec, List<String> classNames) {
    PreprocessingSpec ordered = spec.orderedFor(schema.features());
    if (classNames != null && !classNames.isEmpty() && classNames.size() != schema.classes().size()) {
      throw new IllegalArgumentException("model card: " + classNames.size() + " class names for "
          + schema.classes().size() + " classes " + schema.classes());
    }
    List<ClassEntry> classes = new ArrayList<>();
    for (int i = 0; i < schema.classes().size(); i++) {
      classes.add(new ClassEntry(schema.classes().get(i),
          classNames == null || classNames.isEmpty() ? null : classNames.get(i)));
    }
    return new ModelCard(FORMAT, studyId, classes, ordered.rules().stream().map(Feature::of).toList());
  }

  @JsonIgnore
  public List<String> featureNames() {
    return features.stream().map(Feature::name).toList();
  }

  @JsonIgnore
  public List<String> classNames() {
    return classes.stream().map(ClassEntry::name).toList();
  }

  /** The feature rules, in model-input order. */
  @JsonIgnore
  public PreprocessingSpec preprocessing() {
    return new PreprocessingSpec(features.stream().map(Feature::rule).toList());
  }

  /** Whether every rule is public: only then can a user of the model transform raw values as training did. */
  @JsonIgnore
  public boolean isPublic() {
    return !preprocessing().needsPrivateEstimate();
  }

  /**
   * Checks raw rows against the card: the feature count, no missing value, each value within its
   * feature's declared bounds. Messages name the row and the column (1-based) and the feature.
   *
   * @throws IllegalArgumentException the first problem, in one line
   */
  public void check(double[][] rows) {
    check(rows, false);
  }

  /**
   * Like {@link #check(double[][])}; with {@code allowOutOfRange} values outside the declared bounds
   * pass (they are clamped by {@link #apply(double[][], boolean)}, as training clamped them).
   *
   * @return how many values lie outside their feature's declared bounds
   */
  public long check(double[][] rows, boolean allowOutOfRange) {
    List<FeatureRule> rules = preprocessing().rules();
    long outside = 0;
    for (int r = 0; r < rows.length; r++) {
      double[] row = rows[r];
      if (row.length != rules.size()) {
        throw new IllegalArgumentException("row " + (r + 1) + ": the model expects " + rules.size() + " features ("
            + rules.get(0).feature() + " .. " + rules.get(rules.size() - 1).feature() + "), the data has " + row.length);
      }
      for (int c = 0; c < row.length; c++) {
        FeatureRule rule = rules.get(c);
        double x = row[c];
        String at = "row " + (r + 1) + ", column " + (c + 1) + " ('" + rule.feature() + "')";
        if (Double.isNaN(x) || Double.isInfinite(x)) {
          throw new IllegalArgumentException(at + ": " + (Double.isNaN(x) ? "missing (NaN)" : "infinite")
              + "; the model needs a finite value");
        }
        double t = rule.transform().apply(x);
        double slack = rule.transform() == FeatureRule.Transform.IDENTITY ? 0 : LOG_SLACK * Math.max(1, Math.abs(t));
        if (t < rule.lo() - slack || t > rule.hi() + slack) {
          outside++;
          if (allowOutOfRange) {
            continue;
          }
          throw new IllegalArgumentException(at + ": " + x + " is outside the study's declared range "
              + rawRange(rule) + " (training clamped such values to it; check the unit)");
        }
      }
    }
    return outside;
  }

  /**
   * The model inputs of raw rows, after {@link #check}: each value transformed as the sites' training
   * did ({@link FeatureTransform}).
   *
   * @throws IllegalStateException when a rule is private (each site standardized with its own DP
   *     estimate: there is no one public transform)
   */
  public double[][] apply(double[][] rows) {
    return apply(rows, false);
  }

  /**
   * The model inputs of raw rows; with {@code clampOutOfRange} values outside the declared bounds are
   * clamped to them exactly as the sites' training clamped them, otherwise they are refused.
   */
  public double[][] apply(double[][] rows, boolean clampOutOfRange) {
    PreprocessingSpec spec = preprocessing();
    if (spec.needsPrivateEstimate()) {
      throw new IllegalStateException("the study standardizes " + spec.rules().stream()
          .filter(r -> r.kind() == FeatureRule.Kind.PRIVATE).map(FeatureRule::feature).toList()
          + " with each site's own private estimate: there is no public transform to apply to raw values");
    }
    check(rows, clampOutOfRange);
    List<FeatureTransform> t = spec.resolvePublic().transforms();
    double[][] out = new double[rows.length][];
    for (int r = 0; r < rows.length; r++) {
      out[r] = new double[rows[r].length];
      for (int c = 0; c < rows[r].length; c++) {
        out[r][c] = t.get(c).apply(rows[r][c]);
      }
    }
    return out;
  }

  private static String rawRange(FeatureRule rule) {
    if (rule.transform() == FeatureRule.Transform.LOG) {
      return "[" + num(Math.exp(rule.lo())) + ", " + num(Math.exp(rule.hi())) + "]";
    }
    if (rule.transform() == FeatureRule.Transform.ASINH) {
      return "[sinh(" + num(rule.lo()) + "), sinh(" + num(rule.hi()) + ")]";
    }
    return "[" + num(rule.lo()) + ", " + num(rule.hi()) + "]";
  }

  private static String num(double v) {
    return Double.isInfinite(v) ? (v > 0 ? "+inf" : "-inf") : String.format(Locale.ROOT, "%.6g", v).replaceAll("\\.?0+(e|$)", "$1");
  }

  /**
   * The canonical JSON (what the inference policy embeds and kits carry): the bytes databind's indented output gave,
   * written on Jackson's streaming core ({@link ModelCardJson}), so the inference enclave carries no databind.
   */
  public byte[] toJson() {
    return ModelCardJson.write(this);
  }

  /** SHA-256 of {@link #toJson()}, hex. */
  public String sha256() {
    try {
      return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(toJson()));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Parses a card; every error names {@code where} (a file, or what sent it).
   *
   * @throws IllegalArgumentException a card that is not valid, with the reason
   */
  public static ModelCard parse(byte[] json, String where) {
    return ModelCardJson.read(json, where);
  }
}

package org.cloister.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Loads a CSV file with a header row, numeric feature columns and one label column.
 *
 * <p>Every feature must parse as a finite number, or be missing (an empty field or a declared
 * token) and handled by the study's {@link MissingRule} ({@link CsvOptions}: also the delimiter and
 * the identifier columns to drop). With a {@link StudySchema} (a site's file), the
 * header must hold exactly the study's features and label (any order), features come out in the
 * study's order, and a label outside the study's classes is a bad row: the shape of the data (and
 * so of the model) never depends on what the file holds. Without one ({@link #inferringClasses},
 * for a study designer's whole file only), labels are mapped to class indices in sorted order of
 * their distinct values (so "0","1" map to 0,1). Labels compare as {@link ClassLabels} says ("1",
 * "1.0" and " 1" are one class), with or without a schema. Errors name the 1-based line (the header is line
 * 1) and the column.
 */
public final class CsvDatasetLoader {
  private final String labelColumn;
  private final StudySchema schema;
  private final BadRowPolicy policy;
  private final CsvOptions options;

  /** A site's loader: features and classes fixed by the study. */
  public CsvDatasetLoader(StudySchema schema, BadRowPolicy policy) {
    this(Objects.requireNonNull(schema, "schema"), schema.label(), policy, CsvOptions.DEFAULT);
  }

  private CsvDatasetLoader(StudySchema schema, String labelColumn, BadRowPolicy policy, CsvOptions options) {
    this.schema = schema;
    this.labelColumn = Objects.requireNonNull(labelColumn, "labelColumn");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.options = Objects.requireNonNull(options, "options");
  }

  /** This loader reading a file with {@code options} (delimiter, ignored columns, missing values). */
  public CsvDatasetLoader withOptions(CsvOptions options) {
    return new CsvDatasetLoader(schema, labelColumn, policy, options);
  }

  /**
   * A loader that takes the class list from the labels in the file: only for a file that defines
   * the study (a simulation's pooled data, a shipped dataset), never for one site's data.
   */
  public static CsvDatasetLoader inferringClasses(String labelColumn, BadRowPolicy policy) {
    return new CsvDatasetLoader(null, labelColumn, policy, CsvOptions.DEFAULT);
  }

  public CsvLoadResult load(Path file) {
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return load(r);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  public CsvLoadResult load(Reader reader) {
    try (CsvRows in = new CsvRows(reader, options.delimiter())) {
      CsvRows.Row header = in.next();
      if (header == null || header.blank()) {
        throw new DataFormatException(1, "missing header row");
      }
      String[] cols = header.fields().toArray(new String[0]);
      int labelIdx = -1;
      for (int i = 0; i < cols.length; i++) {
        if (cols[i].equals(labelColumn)) {
          labelIdx = i;
        }
      }
      if (labelIdx < 0) {
        throw new DataFormatException(1, "label column '" + labelColumn + "' not in header " + Arrays.toString(cols)
            + (cols.length == 1 && (cols[0].indexOf(';') >= 0 || cols[0].indexOf('\t') >= 0)
            ? " (is the file separated by ';' or tabs? set the delimiter)" : ""));
      }
      for (String ignored : options.ignoreColumns()) {
        if (ignored.equals(labelColumn)) {
          throw new DataFormatException(1, "column '" + ignored + "' is the label: it cannot be ignored");
        }
        if (!Arrays.asList(cols).contains(ignored)) {
          throw new DataFormatException(1, "column '" + ignored + "' to ignore is not in header " + Arrays.toString(cols)
              + (cols.length == 1 && options.delimiter() == ',' ? " (is the file separated by ';' or tabs? set the delimiter)" : ""));
        }
      }
      for (String c : options.missingByColumn().keySet()) {
        if (!Arrays.asList(cols).contains(c) || c.equals(labelColumn) || options.ignoreColumns().contains(c)) {
          throw new DataFormatException(1, "a missing-value rule names '" + c + "', which is not a feature column of header "
              + Arrays.toString(cols));
        }
      }
      List<String> featureNames = new ArrayList<>();
      for (int i = 0; i < cols.length; i++) {
        if (i != labelIdx && !options.ignoreColumns().contains(cols[i])) {
          featureNames.add(cols[i]);
        }
      }
      // position in the file of each output feature
      int[] source = new int[featureNames.size()];
      if (schema != null) {
        for (String f : featureNames) {
          if (!schema.features().contains(f)) {
            throw new DataFormatException(1, "column '" + f + "' is not a feature of the study " + schema.features());
          }
        }
        for (String f : schema.features()) {
          if (!featureNames.contains(f)) {
            throw new DataFormatException(1, "the study's feature '" + f + "' is not in header " + Arrays.toString(cols));
          }
        }
        featureNames = schema.features();
      }
      for (int j = 0; j < source.length; j++) {
        source[j] = Arrays.asList(cols).indexOf(featureNames.get(j));
      }
      List<double[]> rows = new ArrayList<>();
      List<String> rawLabels = new ArrayList<>();
      List<DataFormatException> skipped = new ArrayList<>();
      Map<String, Integer> filled = new java.util.LinkedHashMap<>();
      MissingRule[] rule = new MissingRule[source.length];
      for (int j = 0; j < source.length; j++) {
        rule[j] = options.ruleFor(featureNames.get(j));
      }
      CsvRows.Row row;
      while ((row = in.next()) != null) {
        long lineNo = row.line();
        if (row.blank()) {
          continue;
        }
        try {
          String[] parts = row.fields().toArray(new String[0]);
          if (parts.length != cols.length) {
            throw new DataFormatException(lineNo, "expected " + cols.length + " columns but found " + parts.length);
          }
          double[] f = new double[source.length];
          List<String> filledHere = new ArrayList<>();
          for (int j = 0; j < source.length; j++) {
            String v = parts[source[j]];
            String col = cols[source[j]];
            if (options.isMissing(v)) {
              switch (rule[j].kind()) {
                case FAIL -> throw new DataFormatException(lineNo, "column '" + col + "': missing value"
                    + (v.isEmpty() ? "" : " ('" + abbreviate(v) + "')")
                    + " (declare a missing-value rule for it: skip, centre or constant:VALUE)");
                case SKIP -> throw new MissingValueSkip(lineNo, "column '" + col + "': missing value, row skipped");
                case CENTRE -> f[j] = Double.NaN; // the feature's centre (FeatureTransform)
                case CONSTANT -> f[j] = rule[j].constant();
                default -> throw new IllegalStateException();
              }
              filledHere.add(col);
            } else {
              f[j] = parseFinite(v, lineNo, col);
            }
          }
          String label = ClassLabels.normalise(parts[labelIdx]);
          if (label.isEmpty() || options.isMissing(parts[labelIdx])) {
            if (options.missing().kind() == MissingRule.Kind.SKIP) {
              throw new MissingValueSkip(lineNo, "column '" + labelColumn + "': missing label, row skipped");
            }
            throw new DataFormatException(lineNo, "column '" + labelColumn + "': missing label");
          }
          if (schema != null && schema.classIndex(label) < 0) {
            throw new DataFormatException(lineNo, "column '" + labelColumn + "': label '" + abbreviate(label)
                + "' is not one of the study's classes " + schema.classes());
          }
          rows.add(f);
          rawLabels.add(label);
          for (String c : filledHere) {
            filled.merge(c, 1, Integer::sum);
          }
        } catch (MissingValueSkip e) {
          skipped.add(e);
        } catch (DataFormatException e) {
          if (policy == BadRowPolicy.FAIL) {
            throw e;
          }
          skipped.add(e);
        }
      }
      if (rows.isEmpty()) {
        throw new DataFormatException("no data rows (" + skipped.size() + " skipped)");
      }
      if (schema != null) {
        int[] labels = new int[rawLabels.size()];
        for (int i = 0; i < labels.length; i++) {
          labels[i] = schema.classIndex(rawLabels.get(i));
        }
        return new CsvLoadResult(new Dataset(featureNames, labelColumn, schema.classes(), rows.toArray(new double[0][]), labels),
            skipped, filled);
      }
      // Distinct labels (normalised by ClassLabels) in ClassLabels.ORDER: numbers first, numerically.
      Map<String, Integer> classIndex = new TreeMap<>(ClassLabels.ORDER);
      for (String l : rawLabels) {
        classIndex.putIfAbsent(l, 0);
      }
      if (classIndex.size() < 2) {
        throw new DataFormatException("label column '" + labelColumn + "' has a single class " + classIndex.keySet());
      }
      List<String> classNames = new ArrayList<>(classIndex.keySet());
      for (int i = 0; i < classNames.size(); i++) {
        classIndex.put(classNames.get(i), i);
      }
      int[] labels = new int[rawLabels.size()];
      for (int i = 0; i < labels.length; i++) {
        labels[i] = classIndex.get(rawLabels.get(i));
      }
      Dataset ds = new Dataset(featureNames, labelColumn, classNames, rows.toArray(new double[0][]), labels);
      return new CsvLoadResult(ds, skipped, filled);
    }
  }

  /** A row dropped by a {@code skip} missing-value rule: skipped whatever the bad-row policy. */
  private static final class MissingValueSkip extends DataFormatException {
    MissingValueSkip(long line, String message) {
      super(line, message);
    }
  }

  private static double parseFinite(String s, long lineNo, String column) {
    if (s.isEmpty()) {
      throw new DataFormatException(lineNo, "column '" + column + "': missing value");
    }
    double v;
    try {
      v = Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw new DataFormatException(lineNo, "column '" + column + "': not a number: " + shown(s)
          + (s.indexOf(';') >= 0 || s.indexOf('\t') >= 0 ? " (is the file separated by ';' or tabs? set the delimiter)"
          : token(s) ? " (if it means missing, list it in the missing-value tokens)"
          : " (an identifier or free-text column? leave it out with the columns to ignore)"));
    }
    if (!Double.isFinite(v)) {
      throw new DataFormatException(lineNo, "column '" + column + "': not a finite number: " + shown(s));
    }
    return v;
  }

  /**
   * A value as an error message may show it: a short token without digits (NA, ?, n/a, null: what a missing-value
   * marker looks like) in quotes; anything else, which may be a patient's identifier or data, is not shown.
   */
  static String shown(String s) {
    return token(s) ? "'" + s + "'" : "a value of " + s.length() + " character(s) (not shown: it may be patient data)";
  }

  private static boolean token(String s) {
    return s.length() <= 8 && s.chars().noneMatch(Character::isDigit);
  }

  private static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }

}

package org.cloister.data;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How a messy CSV file is read, declared by the study: the field delimiter, columns that are not
 * features (identifiers such as a record number, dropped on reading), the tokens that mean "missing"
 * (an empty field always does) and the {@link MissingRule} per feature column (a default and
 * per-column exceptions).
 */
public record CsvOptions(char delimiter, List<String> ignoreColumns, List<String> missingValues, MissingRule missing,
                         Map<String, MissingRule> missingByColumn) {

  /** Comma-separated, nothing ignored, an empty field missing, a missing value an error. */
  public static final CsvOptions DEFAULT = new CsvOptions(',', List.of(), List.of(), MissingRule.FAIL, Map.of());

  public CsvOptions {
    ignoreColumns = List.copyOf(ignoreColumns);
    missingValues = List.copyOf(missingValues);
    Objects.requireNonNull(missing, "missing");
    missingByColumn = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(missingByColumn));
    if (delimiter == '"' || delimiter == '\n' || delimiter == '\r') {
      throw new IllegalArgumentException("the CSV delimiter cannot be a quote or a line break");
    }
    for (String t : missingValues) {
      try {
        double v = Double.parseDouble(t.trim());
        if (Double.isFinite(v)) {
          throw new IllegalArgumentException("missing-value token '" + t + "' is a number: a real value would be taken for missing");
        }
      } catch (NumberFormatException notANumber) {
        // a token such as NA or ?
      }
    }
  }

  /**
   * The delimiter a user wrote: one character, or {@code tab} (also {@code \t}).
   *
   * @throws IllegalArgumentException naming what is accepted
   */
  public static char delimiter(String s) {
    if (s == null) {
      throw new IllegalArgumentException("the CSV delimiter is empty: give one character such as ',' or ';', or 'tab'");
    }
    if (s.equals("tab") || s.equals("\\t") || s.equals("\t")) {
      return '\t';
    }
    if (s.length() != 1) {
      throw new IllegalArgumentException("the CSV delimiter must be one character (',', ';', '|') or 'tab', got '" + s + "'");
    }
    return s.charAt(0);
  }

  /** The rule for feature {@code column}. */
  public MissingRule ruleFor(String column) {
    return missingByColumn.getOrDefault(column, missing);
  }

  /** Whether {@code value} (trimmed) means missing. */
  public boolean isMissing(String value) {
    return value.isEmpty() || missingValues.contains(value);
  }

  /** The options as the user would write them in a scenario, for results files. */
  public Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("delimiter", delimiter == '\t' ? "tab" : String.valueOf(delimiter));
    m.put("ignore_columns", ignoreColumns);
    m.put("missing_values", missingValues);
    m.put("missing", missing.toString());
    Map<String, String> by = new LinkedHashMap<>();
    missingByColumn.forEach((k, v) -> by.put(k, v.toString()));
    m.put("missing_by_column", by);
    return m;
  }
}

package org.cloister.data;

import java.util.List;
import java.util.Map;

/**
 * A loaded dataset, the rows that were skipped (bad rows under policy SKIP, and rows dropped by a
 * {@code skip} missing-value rule) and how many missing values each feature had filled in by its
 * {@link MissingRule} (centre or constant).
 */
public record CsvLoadResult(Dataset dataset, List<DataFormatException> skippedRows, Map<String, Integer> filled) {
  public CsvLoadResult {
    skippedRows = List.copyOf(skippedRows);
    filled = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(filled));
  }

  public CsvLoadResult(Dataset dataset, List<DataFormatException> skippedRows) {
    this(dataset, skippedRows, Map.of());
  }
}

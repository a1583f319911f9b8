package org.cloister.data;

import java.util.List;

/** A loaded dataset and the rows that were skipped (empty unless the policy was SKIP). */
public record CsvLoadResult(Dataset dataset, List<DataFormatException> skippedRows) {
  public CsvLoadResult {
    skippedRows = List.copyOf(skippedRows);
  }
}

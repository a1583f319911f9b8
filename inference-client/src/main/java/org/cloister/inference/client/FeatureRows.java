package org.cloister.inference.client;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses feature rows from CSV text: one row per non-empty line, values separated by commas. A
 * first line that is not numeric is taken as a header when {@code allowHeader}. Errors name the
 * line and column, never the value (a query value is patient data).
 */
public final class FeatureRows {
  private FeatureRows() {
  }

  /** The rows of {@code csv}; every value must be a number (NaN and infinities parse; the enclave refuses them). */
  public static double[][] parse(String csv, boolean allowHeader) {
    List<double[]> rows = new ArrayList<>();
    String[] lines = csv.split("\\R");
    int first = -1;
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      if (first < 0) {
        first = i;
        if (allowHeader && !looksNumeric(line)) {
          continue;
        }
      }
      String[] cells = line.split(",", -1);
      double[] row = new double[cells.length];
      for (int c = 0; c < cells.length; c++) {
        String cell = cells[c].strip();
        try {
          if (cell.isEmpty()) {
            throw new NumberFormatException();
          }
          row[c] = Double.parseDouble(cell);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("line " + (i + 1) + ", column " + (c + 1) + ": "
              + (cell.isEmpty() ? "empty value" : "not a number") + " (every feature must be numeric)");
        }
      }
      rows.add(row);
    }
    if (rows.isEmpty()) {
      throw new IllegalArgumentException("no feature rows given");
    }
    return rows.toArray(new double[0][]);
  }

  private static boolean looksNumeric(String line) {
    String cell = line.split(",", -1)[0].strip();
    try {
      Double.parseDouble(cell);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }
}

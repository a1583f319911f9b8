package org.cloister.inference.client;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import org.cloister.data.CsvRows;
import org.cloister.data.DataFormatException;

/**
 * Parses feature rows from CSV text through the data module's one CSV reader ({@link CsvRows},
 * Apache Commons CSV: quoted fields, a byte-order mark, CRLF or LF): one row per non-empty record;
 * a record whose first field starts with {@code #} is a comment. A first record that is not numeric
 * is taken as a header when {@code allowHeader}. Errors name the line and column, never the value (a
 * query value is patient data).
 */
public final class FeatureRows {
  private FeatureRows() {
  }

  /** The rows of {@code csv}; every value must be a number (NaN and infinities parse; the enclave refuses them). */
  public static double[][] parse(String csv, boolean allowHeader) {
    List<double[]> rows = new ArrayList<>();
    boolean first = true;
    try (CsvRows in = new CsvRows(new StringReader(csv))) {
      CsvRows.Row r;
      while ((r = in.next()) != null) {
        if (r.blank() || r.fields().get(0).startsWith("#")) {
          continue;
        }
        if (first) {
          first = false;
          if (allowHeader && !isNumber(r.fields().get(0))) {
            continue;
          }
        }
        double[] row = new double[r.fields().size()];
        for (int c = 0; c < row.length; c++) {
          String cell = r.fields().get(c);
          if (!isNumber(cell)) {
            throw new IllegalArgumentException("line " + r.line() + ", column " + (c + 1) + ": "
                + (cell.isEmpty() ? "empty value" : "not a number") + " (every feature must be numeric)");
          }
          row[c] = Double.parseDouble(cell);
        }
        rows.add(row);
      }
    } catch (DataFormatException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    if (rows.isEmpty()) {
      throw new IllegalArgumentException("no feature rows given");
    }
    return rows.toArray(new double[0][]);
  }

  private static boolean isNumber(String cell) {
    if (cell.isEmpty()) {
      return false;
    }
    try {
      Double.parseDouble(cell);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }
}

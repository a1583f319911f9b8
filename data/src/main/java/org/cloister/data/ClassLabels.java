package org.cloister.data;

import java.math.BigDecimal;
import java.util.Comparator;

/**
 * The one rule for comparing class labels, used by every loader and by {@link StudySchema}: a label
 * is trimmed, and a label that is a decimal number is compared as a number, so {@code "1"},
 * {@code "1.0"}, {@code " 1"}, {@code "+1"} and {@code "1e0"} are one class (named {@code "1"});
 * any other label is compared as its exact (case-sensitive) text. Classes sort numbers first (in
 * numeric order), then text (in code-point order), a total order.
 */
public final class ClassLabels {
  /** Numbers first in numeric order, then text labels in code-point order (both normalised). */
  public static final Comparator<String> ORDER = (a, b) -> {
    BigDecimal x = number(a);
    BigDecimal y = number(b);
    if (x != null && y != null) {
      return x.compareTo(y);
    }
    if (x != null || y != null) {
      return x != null ? -1 : 1;
    }
    return a.strip().compareTo(b.strip());
  };

  private ClassLabels() {
  }

  /** The canonical spelling of {@code raw}: a number's plain decimal without trailing zeros, else the trimmed text. */
  public static String normalise(String raw) {
    BigDecimal n = number(raw);
    if (n == null) {
      return raw.strip();
    }
    return n.signum() == 0 ? "0" : n.stripTrailingZeros().toPlainString();
  }

  private static BigDecimal number(String raw) {
    String s = raw.strip();
    if (s.isEmpty() || !(Character.isDigit(s.charAt(s.length() - 1)) || s.endsWith("."))) {
      return null; // not NaN, Infinity, 1f, 0x1 (BigDecimal refuses these too; this keeps them text)
    }
    try {
      return new BigDecimal(s);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}

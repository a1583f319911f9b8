package org.cloister.simulations.report;

/**
 * The one HTML escaper of every report (simulation report, privacy audit, budget and receipts
 * pages): text and attribute values alike ({@code < > & " '}).
 */
public final class Html {
  private Html() {
  }

  public static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}

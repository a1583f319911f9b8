package org.cloister.cli.privacy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import picocli.CommandLine;

/** Writes a result as JSON or as a readable line. */
final class Output {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Output() {
  }

  static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  static void print(CommandLine.Model.CommandSpec spec, boolean json, ObjectNode node, String sentence) {
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      try {
        out.println(MAPPER.writeValueAsString(node));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    } else {
      out.println(sentence);
    }
    out.flush();
  }

  /** Finite doubles as numbers; infinity as the string "Infinity" (JSON has no infinity). */
  static void put(ObjectNode node, String field, double value) {
    if (Double.isFinite(value)) {
      node.put(field, value);
    } else {
      node.put(field, Double.toString(value));
    }
  }

  /** Rounded up to 6 significant digits: for sigma, epsilon and delta (the safe direction). */
  static String up(double v) {
    return org.cloister.dp.accounting.SafeRounding.up(v, 6);
  }

  static String format(double v) {
    if (Double.isInfinite(v)) {
      return "infinity";
    }
    return String.format(java.util.Locale.ROOT, "%.6g", v).replaceFirst("\\.?0+(e|$)", "$1");
  }
}

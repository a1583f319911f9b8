package org.cloister.trust.attestation.tdx;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * A read-only view of an Intel PCS JSON body (TCB info, QE identity) on Gson's tree, with the lenient navigation
 * the verifier's checks are written in: {@link #path} of a missing member is {@link #isMissingNode() missing} (never
 * null), {@link #asText()} of a missing or structured value is empty, {@link #asInt(int)} falls back to its default
 * for anything that is not an integer (or integral text), so an absent SVN reads as unreachable. (Gson rather than
 * Jackson databind: the enclave image carries Gson for gRPC, and this class is reached from the enclave's code.)
 */
final class PcsNode implements Iterable<PcsNode> {
  private static final PcsNode MISSING = new PcsNode(null);
  private final JsonElement element;

  private PcsNode(JsonElement element) {
    this.element = element;
  }

  /** Parses strict JSON text (one value, nothing after it). */
  static PcsNode parse(String json) throws IOException {
    try (JsonReader reader = new JsonReader(new StringReader(json))) {
      reader.setStrictness(Strictness.STRICT);
      JsonElement e = JsonParser.parseReader(reader);
      if (reader.peek() != JsonToken.END_DOCUMENT) {
        throw new IOException("content after the JSON value");
      }
      return new PcsNode(e);
    } catch (JsonParseException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  boolean isMissingNode() {
    return element == null;
  }

  /** The member {@code field} of an object; missing for anything else. */
  PcsNode path(String field) {
    if (element instanceof JsonObject o && o.has(field)) {
      return new PcsNode(o.get(field));
    }
    return MISSING;
  }

  /** Element {@code i} of an array; missing for anything else. */
  PcsNode get(int i) {
    if (element instanceof JsonArray a && i >= 0 && i < a.size()) {
      return new PcsNode(a.get(i));
    }
    return MISSING;
  }

  /** Elements of an array or member values of an object. */
  int size() {
    if (element instanceof JsonArray a) {
      return a.size();
    }
    if (element instanceof JsonObject o) {
      return o.size();
    }
    return 0;
  }

  boolean isEmpty() {
    return size() == 0;
  }

  /** A string's text, a number's or boolean's literal, "null" for null, "" for missing, objects and arrays. */
  String asText() {
    if (element instanceof JsonPrimitive p) {
      return p.getAsString();
    }
    if (element != null && element.isJsonNull()) {
      return "null";
    }
    return "";
  }

  int asInt() {
    return asInt(0);
  }

  /** An integral number (or its text) that fits an int; {@code otherwise} for anything else. */
  int asInt(int otherwise) {
    if (element instanceof JsonPrimitive p && (p.isNumber() || p.isString())) {
      try {
        return Integer.parseInt(p.getAsString().trim());
      } catch (NumberFormatException e) {
        return otherwise;
      }
    }
    return otherwise;
  }

  /** The elements of an array, the member values of an object, nothing for anything else. */
  @Override
  public Iterator<PcsNode> iterator() {
    List<PcsNode> out = new ArrayList<>();
    if (element instanceof JsonArray a) {
      a.forEach(e -> out.add(new PcsNode(e)));
    } else if (element instanceof JsonObject o) {
      o.entrySet().forEach(e -> out.add(new PcsNode(e.getValue())));
    }
    return out.iterator();
  }
}

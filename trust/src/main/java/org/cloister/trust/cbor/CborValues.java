package org.cloister.trust.cbor;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One CBOR item read from Jackson's streaming CBOR parser into plain Java values (no data binding: the enclave
 * image carries jackson-core and the CBOR parser only): a map is a {@code Map<String, Object>} in document order
 * (integer keys as their decimal text, as the parser reports them), an array a {@code List<Object>}, a byte string
 * a {@code byte[]}, a text string a {@code String}, an integer a {@link Integer}, {@link Long} or
 * {@link java.math.BigInteger}, a float a {@link Float} or {@link Double}, a boolean a {@link Boolean}, and CBOR
 * null (or undefined) {@link #NULL}, so that a missing map entry ({@code null}) and a null value differ.
 */
public final class CborValues {
  /** CBOR null. */
  public static final Object NULL = new Object() {
    @Override
    public String toString() {
      return "null";
    }
  };

  private CborValues() {
  }

  /**
   * Reads the item at the parser's current token (call {@link JsonParser#nextToken()} first); the parser's
   * constraints (nesting depth, duplicate keys) apply.
   *
   * @throws IOException when the input is not well-formed CBOR or holds what CBOR maps to no value here
   */
  public static Object read(JsonParser p) throws IOException {
    JsonToken t = p.currentToken();
    if (t == null) {
      throw new IOException("no CBOR item");
    }
    switch (t) {
      case START_OBJECT: {
        Map<String, Object> map = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          p.nextToken();
          map.put(name, read(p));
        }
        if (p.currentToken() != JsonToken.END_OBJECT) {
          throw new IOException("unexpected end of the CBOR input in a map");
        }
        return map;
      }
      case START_ARRAY: {
        List<Object> list = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
          if (p.currentToken() == null) {
            throw new IOException("unexpected end of the CBOR input in an array");
          }
          list.add(read(p));
        }
        return list;
      }
      case VALUE_EMBEDDED_OBJECT: {
        Object o = p.getEmbeddedObject();
        if (o instanceof byte[] b) {
          return b;
        }
        throw new IOException("unsupported CBOR item " + (o == null ? "null" : o.getClass().getSimpleName()));
      }
      case VALUE_STRING:
        return p.getText();
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return p.getNumberValue();
      case VALUE_TRUE:
        return Boolean.TRUE;
      case VALUE_FALSE:
        return Boolean.FALSE;
      case VALUE_NULL:
        return NULL;
      default:
        throw new IOException("unexpected CBOR token " + t);
    }
  }

  /** Whether {@code value} is a CBOR integer (of any size). */
  public static boolean isInteger(Object value) {
    return value instanceof Integer || value instanceof Long || value instanceof java.math.BigInteger;
  }

  /** How an error names the kind of {@code value}: "a byte string", "a map", ..., "nothing" for null. */
  public static String describe(Object value) {
    if (value == null) {
      return "nothing";
    }
    if (value == NULL) {
      return "null";
    }
    if (value instanceof byte[]) {
      return "a byte string";
    }
    if (value instanceof String) {
      return "a text string";
    }
    if (value instanceof Number) {
      return "a number";
    }
    if (value instanceof Map<?, ?>) {
      return "a map";
    }
    if (value instanceof List<?>) {
      return "an array";
    }
    if (value instanceof Boolean) {
      return "a boolean";
    }
    return value.getClass().getSimpleName();
  }
}

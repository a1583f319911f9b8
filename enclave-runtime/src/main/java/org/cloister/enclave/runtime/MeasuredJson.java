package org.cloister.enclave.runtime;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON of measured files (an enclave's configuration and policy, whose bytes are PCR1 and
 * PCR2), bound to records on Jackson's streaming core (no data binding: the enclave image carries
 * jackson-core, not databind's ~750 classes). Parsing is strict: an unknown field, a missing field,
 * a duplicate field, a null for a primitive, a value of the wrong JSON type (no coercion: a string is
 * not a number, a fraction not an int) and anything after the document are errors naming the
 * field's path. Writing gives one canonical, indented form (the bytes databind's {@code INDENT_OUTPUT}
 * gave, so files written before keep their PCRs).
 *
 * <p>Supported: records whose components are {@code String}, {@code int}/{@code Integer},
 * {@code long}/{@code Long}, {@code double}/{@code Double}, {@code boolean}/{@code Boolean},
 * records, {@code List<T>} and {@code Map<String, T>} of those. A component's JSON name is its
 * {@link JsonProperty} value, or its own name; {@code @JsonInclude(NON_NULL)} on a record omits its
 * null components when writing (and reads a missing one as null).
 */
public final class MeasuredJson {
  /** Deeper nesting than any measured file has: refused before the stack is at risk. */
  private static final int MAX_DEPTH = 32;
  private static final JsonFactory FACTORY = JsonFactory.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .build();

  private MeasuredJson() {
  }

  /**
   * @param what names the document in the error, e.g. {@code "aggregation policy"}
   * @throws IllegalArgumentException "WHAT is not valid: the problem (and its field)"
   */
  public static <T> T parse(byte[] json, Class<T> type, String what) {
    if (!type.isRecord()) {
      throw new IllegalArgumentException(type.getName() + " is not a record");
    }
    try (JsonParser p = FACTORY.createParser(json)) {
      p.nextToken();
      Object value = read(p, type, "$", 0);
      if (p.nextToken() != null) {
        throw new Invalid("$", "content after the document");
      }
      if (value == null) {
        throw new Invalid("$", "the document is null");
      }
      return type.cast(value);
    } catch (IOException e) {
      throw new IllegalArgumentException(what + " is not valid: " + rootMessage(e), e);
    } catch (Invalid e) {
      throw new IllegalArgumentException(what + " is not valid: " + e.getMessage(), e);
    }
  }

  /** The canonical bytes of {@code value} (a record). */
  public static byte[] write(Object value) {
    if (value == null || !value.getClass().isRecord()) {
      throw new IllegalArgumentException("measured JSON is written from a record, got "
          + (value == null ? "null" : value.getClass().getName()));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.setPrettyPrinter(new DefaultPrettyPrinter());
      write(g, value);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  // ------------------------------------------------------------------ reading

  private static Object read(JsonParser p, Type type, String path, int depth) throws IOException {
    if (depth > MAX_DEPTH) {
      throw new Invalid(path, "nested deeper than " + MAX_DEPTH);
    }
    JsonToken t = p.currentToken();
    if (t == null) {
      throw new Invalid(path, "no value");
    }
    Class<?> raw = raw(type);
    if (t == JsonToken.VALUE_NULL) {
      if (raw.isPrimitive()) {
        throw new Invalid(path, "expected " + (raw == boolean.class ? "true or false"
            : raw == double.class ? "a number" : "an integer") + ", got null");
      }
      return null;
    }
    if (raw == String.class) {
      expect(t, JsonToken.VALUE_STRING, path, "a string");
      return p.getText();
    }
    if (raw == int.class || raw == Integer.class || raw == long.class || raw == Long.class) {
      expect(t, JsonToken.VALUE_NUMBER_INT, path, "an integer");
      boolean isInt = raw == int.class || raw == Integer.class;
      JsonParser.NumberType nt = p.getNumberType();
      if (nt == JsonParser.NumberType.BIG_INTEGER || (isInt && nt != JsonParser.NumberType.INT)) {
        throw new Invalid(path, p.getText() + " is out of range for " + (isInt ? "an int" : "a long"));
      }
      return isInt ? (Object) p.getIntValue() : (Object) p.getLongValue();
    }
    if (raw == double.class || raw == Double.class) {
      if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
        throw new Invalid(path, "expected a number, got " + describe(t));
      }
      return p.getDoubleValue();
    }
    if (raw == boolean.class || raw == Boolean.class) {
      if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) {
        throw new Invalid(path, "expected true or false, got " + describe(t));
      }
      return t == JsonToken.VALUE_TRUE;
    }
    if (raw.isRecord()) {
      expect(t, JsonToken.START_OBJECT, path, "an object");
      return readRecord(p, raw, path, depth);
    }
    if (raw == List.class || raw == Collection.class) {
      expect(t, JsonToken.START_ARRAY, path, "an array");
      Type element = typeArgument(type, 0, path);
      List<Object> list = new ArrayList<>();
      while (p.nextToken() != JsonToken.END_ARRAY) {
        list.add(read(p, element, path + "[" + list.size() + "]", depth + 1));
      }
      return list;
    }
    if (raw == Map.class) {
      expect(t, JsonToken.START_OBJECT, path, "an object");
      if (typeArgument(type, 0, path) != String.class) {
        throw new IllegalStateException(path + ": only maps with string keys are measured JSON");
      }
      Type valueType = typeArgument(type, 1, path);
      Map<String, Object> map = new LinkedHashMap<>();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String key = p.currentName();
        p.nextToken();
        map.put(key, read(p, valueType, path + "." + key, depth + 1));
      }
      return map;
    }
    throw new IllegalStateException(path + ": " + type.getTypeName() + " is not a supported measured JSON type");
  }

  private static Object readRecord(JsonParser p, Class<?> type, String path, int depth) throws IOException {
    RecordComponent[] components = type.getRecordComponents();
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < components.length; i++) {
      index.put(jsonName(components[i]), i);
    }
    Object[] args = new Object[components.length];
    boolean[] seen = new boolean[components.length];
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      Integer i = index.get(name);
      String fieldPath = path + "." + name;
      if (i == null) {
        throw new Invalid(fieldPath, "unknown field \"" + name + "\" (" + type.getSimpleName() + " has "
            + String.join(", ", index.keySet().stream().sorted().toList()) + ")");
      }
      p.nextToken();
      args[i] = read(p, components[i].getGenericType(), fieldPath, depth + 1);
      seen[i] = true;
    }
    // what writing omits (a null of a @JsonInclude(NON_NULL) record) reads back as null; anything else must be there
    boolean nullsOmitted = nullsOmitted(type);
    for (int i = 0; i < components.length; i++) {
      if (!seen[i] && !(nullsOmitted && !components[i].getType().isPrimitive())) {
        throw new Invalid(path + "." + jsonName(components[i]), "missing field \"" + jsonName(components[i]) + "\"");
      }
    }
    try {
      Constructor<?> c = type.getDeclaredConstructor(
          java.util.Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new));
      c.setAccessible(true);
      return c.newInstance(args);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      throw new Invalid(path, rootMessage(cause), cause);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot construct " + type.getName(), e);
    }
  }

  private static void expect(JsonToken t, JsonToken wanted, String path, String what) {
    if (t != wanted) {
      throw new Invalid(path, "expected " + what + ", got " + describe(t));
    }
  }

  private static String describe(JsonToken t) {
    return switch (t) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT -> "an integer";
      case VALUE_NUMBER_FLOAT -> "a fractional number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> t.name();
    };
  }

  private static Class<?> raw(Type type) {
    if (type instanceof Class<?> c) {
      return c;
    }
    if (type instanceof ParameterizedType pt && pt.getRawType() instanceof Class<?> c) {
      return c;
    }
    throw new IllegalStateException(type.getTypeName() + " is not a supported measured JSON type");
  }

  private static Type typeArgument(Type type, int i, String path) {
    if (type instanceof ParameterizedType pt) {
      Type a = pt.getActualTypeArguments()[i];
      if (a instanceof Class<?> || a instanceof ParameterizedType) {
        return a;
      }
    }
    throw new IllegalStateException(path + ": " + type.getTypeName() + " needs concrete type arguments");
  }

  private static String jsonName(RecordComponent c) {
    JsonProperty p = c.getAnnotation(JsonProperty.class);
    if (p == null) {
      // a record's @JsonProperty on the parameter lands on the component, the field and the accessor
      p = c.getAccessor().getAnnotation(JsonProperty.class);
    }
    return p == null || p.value().isEmpty() ? c.getName() : p.value();
  }

  private static boolean nullsOmitted(Class<?> type) {
    JsonInclude include = type.getAnnotation(JsonInclude.class);
    return include != null && include.value() == JsonInclude.Include.NON_NULL;
  }

  // ------------------------------------------------------------------ writing

  private static void write(JsonGenerator g, Object value) throws IOException {
    if (value == null) {
      g.writeNull();
    } else if (value instanceof String s) {
      g.writeString(s);
    } else if (value instanceof Integer i) {
      g.writeNumber(i);
    } else if (value instanceof Long l) {
      g.writeNumber(l);
    } else if (value instanceof Double d) {
      g.writeNumber(d);
    } else if (value instanceof Boolean b) {
      g.writeBoolean(b);
    } else if (value instanceof Collection<?> list) {
      g.writeStartArray();
      for (Object o : list) {
        write(g, o);
      }
      g.writeEndArray();
    } else if (value instanceof Map<?, ?> map) {
      g.writeStartObject();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        g.writeFieldName((String) e.getKey());
        write(g, e.getValue());
      }
      g.writeEndObject();
    } else if (value.getClass().isRecord()) {
      boolean skipNulls = nullsOmitted(value.getClass());
      g.writeStartObject();
      for (RecordComponent c : value.getClass().getRecordComponents()) {
        Object v;
        try {
          v = c.getAccessor().invoke(value);
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException("cannot read " + c, e);
        }
        if (v == null && skipNulls) {
          continue;
        }
        g.writeFieldName(jsonName(c));
        write(g, v);
      }
      g.writeEndObject();
    } else {
      throw new IllegalStateException(value.getClass().getName() + " is not a supported measured JSON type");
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
  }

  /** A document that parses as JSON but does not bind; the message names the field's path. */
  private static final class Invalid extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Invalid(String path, String problem) {
      super(problem + " at " + path);
    }

    Invalid(String path, String problem, Throwable cause) {
      super(problem + " at " + path, cause);
    }
  }
}

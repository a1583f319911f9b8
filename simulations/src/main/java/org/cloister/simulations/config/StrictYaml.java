package org.cloister.simulations.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.TreeSet;

/**
 * Binds a YAML configuration file to records with Jackson, strictly: no scalar coercion ({@code "true"}
 * and {@code 1} are not booleans, {@code "3"} is not a number, {@code 2.5} not a whole number),
 * unknown and repeated keys are errors, a key written without a value and an empty block
 * ({@code privacy: {}}) are errors, and a record component annotated
 * {@code @JsonProperty(required = true)} must be given. Every error is an
 * {@link IllegalArgumentException} naming the file and the key path ({@code coordinator.yaml:
 * 'study.dp.clip' is missing (required)}).
 *
 * <p>Used for every configuration file: scenarios, {@code coordinator.yaml}, {@code site.yaml} and
 * {@code CONSORTIUM.yaml} (docs/schemas/).
 */
public final class StrictYaml {
  private static final ObjectMapper YAML = JsonMapper.builder(new YAMLFactory())
      .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .build();

  private StrictYaml() {
  }

  /** Binds {@code file}; errors name the file by its name. */
  public static <T> T bind(Path file, Class<T> type) {
    return bind(file, type, Map.of());
  }

  /**
   * @param emptyMessages what to say instead of "has no value" / "is an empty block" for a key path
   *                      (e.g. how to fill in {@code dp})
   */
  public static <T> T bind(Path file, Class<T> type, Map<String, String> emptyMessages) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new IllegalArgumentException(file.getFileName() + ": not UTF-8 text (" + file + ")", e);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IllegalArgumentException("no such file: " + file, e);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
    }
    T bound = bind(text, file.getFileName().toString(), type, emptyMessages);
    if (bound == null) {
      throw new IllegalArgumentException(file.getFileName() + ": the file is empty");
    }
    return bound;
  }

  /** Binds {@code yamlText} read from {@code source}; null for an empty document. */
  public static <T> T bind(String yamlText, String source, Class<T> type, Map<String, String> emptyMessages) {
    T bound;
    try {
      JsonNode tree = YAML.readTree(yamlText);
      if (tree == null || tree.isMissingNode() || tree.isNull()) {
        return null;
      }
      if (!tree.isObject()) {
        throw new IllegalArgumentException(source + ": expected a mapping of keys to values");
      }
      rejectEmpty(tree, "", source, emptyMessages);
      bound = YAML.treeToValue(tree, type);
    } catch (UnrecognizedPropertyException e) {
      TreeSet<String> known = new TreeSet<>();
      e.getKnownPropertyIds().forEach(k -> known.add(String.valueOf(k)));
      throw new IllegalArgumentException(source + ": unknown key '" + path(e) + "' (known: " + known + ")", e);
    } catch (MismatchedInputException e) {
      if (e.getPath().isEmpty()) {
        throw new IllegalArgumentException(source + ": expected a mapping of keys to values", e);
      }
      if (String.valueOf(e.getOriginalMessage()).startsWith("Missing required creator property")) {
        throw new IllegalArgumentException(source + ": '" + path(e) + "' is missing (required)", e);
      }
      throw new IllegalArgumentException(source + ": '" + path(e) + "' must be " + expected(e.getTargetType()), e);
    } catch (JsonMappingException e) {
      // a record's own check (its compact constructor) refused a value
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IllegalArgumentException(source + ": '" + path(e) + "': " + cause.getMessage(), e);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(source + ": not valid YAML: "
          + e.getOriginalMessage().lines().findFirst().orElse(""), e);
    }
    requireGiven(bound, "", source);
    return bound;
  }

  /** A key without a value and an empty block are errors naming them, never "absent, use the default". */
  private static void rejectEmpty(JsonNode node, String path, String source, Map<String, String> messages) {
    node.fields().forEachRemaining(e -> {
      String p = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
      JsonNode v = e.getValue();
      if (v.isNull()) {
        throw new IllegalArgumentException(source + ": " + messages.getOrDefault(p, "'" + p + "' has no value"));
      }
      if (v.isObject()) {
        if (v.isEmpty()) {
          throw new IllegalArgumentException(source + ": " + messages.getOrDefault(p, "'" + p + "' is an empty block"));
        }
        rejectEmpty(v, p, source, messages);
      }
    });
  }

  /** Every component marked {@code @JsonProperty(required = true)} is given, recursively. */
  private static void requireGiven(Object value, String path, String source) {
    if (value == null) {
      return;
    }
    if (value instanceof Map<?, ?> m) {
      m.forEach((k, v) -> requireGiven(v, path + "." + k, source));
      return;
    }
    if (value instanceof Collection<?> c) {
      int i = 0;
      for (Object v : c) {
        requireGiven(v, path + "[" + i++ + "]", source);
      }
      return;
    }
    if (!value.getClass().isRecord()) {
      return;
    }
    for (RecordComponent c : value.getClass().getRecordComponents()) {
      JsonProperty p = c.getAccessor().getAnnotation(JsonProperty.class);
      String name = p != null && !p.value().isEmpty() ? p.value() : c.getName();
      String full = path.isEmpty() ? name : (path.startsWith(".") ? path.substring(1) : path) + "." + name;
      Object v;
      try {
        v = c.getAccessor().invoke(value);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
      if (v == null && p != null && p.required()) {
        throw new IllegalArgumentException(source + ": '" + full + "' is missing (required)");
      }
      requireGiven(v, full, source);
    }
  }

  private static String path(JsonMappingException e) {
    StringBuilder b = new StringBuilder();
    for (JsonMappingException.Reference r : e.getPath()) {
      if (r.getFieldName() != null) {
        b.append(b.isEmpty() ? "" : ".").append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        b.append('[').append(r.getIndex()).append(']');
      }
    }
    return b.toString();
  }

  private static String expected(Class<?> type) {
    if (type == null) {
      return "of another type";
    }
    if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
      return "a whole number";
    }
    if (type == Double.class || type == double.class) {
      return "a number";
    }
    if (type == Boolean.class || type == boolean.class) {
      return "true or false (a YAML boolean, not quoted)";
    }
    if (type == String.class) {
      return "a text value";
    }
    if (java.util.List.class.isAssignableFrom(type)) {
      return "a list";
    }
    return "a mapping";
  }
}

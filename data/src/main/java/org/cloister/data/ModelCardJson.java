package org.cloister.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link ModelCard}'s JSON on Jackson's streaming core, so that the inference enclave, which serves the card and
 * its SHA-256, carries no Jackson databind. Writing gives the bytes databind's {@code INDENT_OUTPUT} gave (cards and
 * the digests bound to them are unchanged; {@code ModelCardJsonTest} checks seeded random cards against databind).
 * Reading binds as databind with {@code FAIL_ON_UNKNOWN_PROPERTIES} did (an unknown field is refused, a missing one
 * is null and the record's own checks decide), and is stricter where databind was loose: a duplicate field, content
 * after the card, and a value of the wrong JSON type (a string for a bound) are refused, naming the field's path.
 */
final class ModelCardJson {
  private static final JsonFactory FACTORY = JsonFactory.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .build();

  private ModelCardJson() {
  }

  static byte[] write(ModelCard card) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.setPrettyPrinter(new DefaultPrettyPrinter());
      g.writeStartObject();
      g.writeStringField("format", card.format());
      g.writeStringField("study_id", card.studyId());
      g.writeArrayFieldStart("classes");
      for (ModelCard.ClassEntry c : card.classes()) {
        g.writeStartObject();
        g.writeStringField("label", c.label());
        g.writeStringField("name", c.name());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeArrayFieldStart("features");
      for (ModelCard.Feature f : card.features()) {
        g.writeStartObject();
        g.writeStringField("name", f.name());
        g.writeStringField("kind", f.kind());
        g.writeStringField("transform", f.transform());
        number(g, "lo", f.lo());
        number(g, "hi", f.hi());
        number(g, "centre", f.centre());
        number(g, "scale", f.scale());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  private static void number(JsonGenerator g, String name, Double v) throws IOException {
    g.writeFieldName(name);
    if (v == null) {
      g.writeNull();
    } else {
      g.writeNumber(v.doubleValue());
    }
  }

  /** @throws IllegalArgumentException naming {@code where}, the field's path and the problem */
  static ModelCard read(byte[] json, String where) {
    try (JsonParser p = FACTORY.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new Invalid("$", "expected an object, got " + describe(p.currentToken()));
      }
      String format = null;
      String studyId = null;
      List<ModelCard.ClassEntry> classes = null;
      List<ModelCard.Feature> features = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        String path = "$." + field;
        switch (field) {
          case "format" -> format = string(p, path);
          case "study_id" -> studyId = string(p, path);
          case "classes" -> classes = list(p, path, (q, at) -> {
            String label = null;
            String name = null;
            while (q.nextToken() == JsonToken.FIELD_NAME) {
              String f = q.currentName();
              q.nextToken();
              switch (f) {
                case "label" -> label = string(q, at + ".label");
                case "name" -> name = string(q, at + ".name");
                default -> throw unknown(at, f, "label, name");
              }
            }
            String l = label;
            String n = name;
            return construct(at, () -> new ModelCard.ClassEntry(l, n));
          });
          case "features" -> features = list(p, path, (q, at) -> {
            String name = null;
            String kind = null;
            String transform = null;
            Double[] bounds = new Double[4];
            while (q.nextToken() == JsonToken.FIELD_NAME) {
              String f = q.currentName();
              q.nextToken();
              switch (f) {
                case "name" -> name = string(q, at + ".name");
                case "kind" -> kind = string(q, at + ".kind");
                case "transform" -> transform = string(q, at + ".transform");
                case "lo" -> bounds[0] = number(q, at + ".lo");
                case "hi" -> bounds[1] = number(q, at + ".hi");
                case "centre" -> bounds[2] = number(q, at + ".centre");
                case "scale" -> bounds[3] = number(q, at + ".scale");
                default -> throw unknown(at, f, "centre, hi, kind, lo, name, scale, transform");
              }
            }
            String n = name;
            String k = kind;
            String t = transform;
            return construct(at, () -> new ModelCard.Feature(n, k, t, bounds[0], bounds[1], bounds[2], bounds[3]));
          });
          default -> throw unknown("$", field, "classes, features, format, study_id");
        }
      }
      if (p.nextToken() != null) {
        throw new Invalid("$", "content after the card");
      }
      String f = format;
      String s = studyId;
      List<ModelCard.ClassEntry> c = classes;
      List<ModelCard.Feature> fs = features;
      return construct("$", () -> new ModelCard(f, s, c, fs));
    } catch (IOException e) {
      throw invalid(where, firstLine(e.getMessage()), e);
    } catch (Invalid e) {
      throw invalid(where, e.getMessage(), e);
    }
  }

  private interface Element<T> {
    T read(JsonParser p, String path) throws IOException;
  }

  private interface Construction<T> {
    T get();
  }

  private static <T> List<T> list(JsonParser p, String path, Element<T> element) throws IOException {
    if (p.currentToken() == JsonToken.VALUE_NULL) {
      return null;
    }
    expect(p, JsonToken.START_ARRAY, path, "an array");
    List<T> out = new ArrayList<>();
    while (p.nextToken() != JsonToken.END_ARRAY) {
      String at = path + "[" + out.size() + "]";
      expect(p, JsonToken.START_OBJECT, at, "an object");
      out.add(element.read(p, at));
    }
    return out;
  }

  private static String string(JsonParser p, String path) throws IOException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_NULL) {
      return null;
    }
    // databind read a bare number or boolean as its text ("label": 0); so does this
    if (t == JsonToken.VALUE_STRING || t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT
        || t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) {
      return p.getText();
    }
    throw new Invalid(path, "expected a string, got " + describe(t));
  }

  private static Double number(JsonParser p, String path) throws IOException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_NULL) {
      return null;
    }
    if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
      throw new Invalid(path, "expected a number, got " + describe(t));
    }
    return p.getDoubleValue();
  }

  private static void expect(JsonParser p, JsonToken wanted, String path, String what) {
    if (p.currentToken() != wanted) {
      throw new Invalid(path, "expected " + what + ", got " + describe(p.currentToken()));
    }
  }

  private static <T> T construct(String path, Construction<T> c) {
    try {
      return c.get();
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new Invalid(path, e.getMessage());
    }
  }

  private static Invalid unknown(String path, String field, String known) {
    return new Invalid(path + "." + field, "unknown field \"" + field + "\" (known: " + known + ")");
  }

  private static String describe(JsonToken t) {
    if (t == null) {
      return "nothing";
    }
    return switch (t) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> t.name();
    };
  }

  private static String firstLine(String m) {
    return m == null ? "malformed JSON" : m.lines().findFirst().orElse(m);
  }

  private static IllegalArgumentException invalid(String where, String problem, Exception cause) {
    return new IllegalArgumentException(where + ": not a valid model card (" + ModelCard.FORMAT + "): " + problem,
        cause);
  }

  /** A card that parses as JSON but does not bind; the message names the field's path. */
  private static final class Invalid extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Invalid(String path, String problem) {
      super(problem + " at " + path);
    }
  }
}

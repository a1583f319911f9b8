package org.cloister.dp.events;

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
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * JSON form of {@link DpEvent}s, as stored in the privacy ledger. Every event is an object with
 * a {@code "type"} and snake_case fields, for example
 * {@code {"type":"self_composed","count":100,"event":{"type":"poisson_sampled",
 * "sampling_probability":0.01,"event":{"type":"gaussian","noise_multiplier":1.1}}}}.
 *
 * <p>Doubles are written in their shortest round-trip form, so {@code fromJson(toJson(e))}
 * equals {@code e}. Parsing is strict: unknown types, unknown or missing fields, wrong value
 * kinds and out-of-range values are rejected with an {@link IllegalArgumentException} naming
 * the JSON path of the problem. Read and written with Gson's tree (the JSON library the enclave image
 * already carries for gRPC; the bytes are those Jackson wrote before: doubles in {@link Double#toString}).
 */
public final class DpEventJson {

  private static final int MAX_DEPTH = 64;
  private static final Pattern INTEGER = Pattern.compile("-?(0|[1-9][0-9]*)");

  private DpEventJson() {
  }

  /** The JSON text of {@code event}. */
  public static String toJson(DpEvent event) {
    return toNode(event).toString();
  }

  private static JsonObject toNode(DpEvent event) {
    JsonObject node = new JsonObject();
    if (event instanceof GaussianEvent g) {
      node.addProperty("type", "gaussian");
      node.addProperty("noise_multiplier", g.noiseMultiplier());
    } else if (event instanceof LaplaceEvent l) {
      node.addProperty("type", "laplace");
      node.addProperty("scale", l.scale());
    } else if (event instanceof PoissonSampledEvent p) {
      node.addProperty("type", "poisson_sampled");
      node.addProperty("sampling_probability", p.samplingProbability());
      node.add("event", toNode(p.event()));
    } else if (event instanceof SampledWithoutReplacementEvent s) {
      node.addProperty("type", "sampled_without_replacement");
      node.addProperty("source_size", s.sourceSize());
      node.addProperty("sample_size", s.sampleSize());
      node.add("event", toNode(s.event()));
    } else if (event instanceof SelfComposedEvent s) {
      node.addProperty("type", "self_composed");
      node.addProperty("count", s.count());
      node.add("event", toNode(s.event()));
    } else if (event instanceof ComposedEvent c) {
      node.addProperty("type", "composed");
      JsonArray events = new JsonArray();
      for (DpEvent e : c.events()) {
        events.add(toNode(e));
      }
      node.add("events", events);
    } else if (event instanceof NoOpEvent) {
      node.addProperty("type", "no_op");
    } else if (event instanceof NonPrivateEvent) {
      node.addProperty("type", "non_private");
    } else {
      throw new IllegalArgumentException("unknown event " + event);
    }
    return node;
  }

  /**
   * Parses an event.
   *
   * @throws IllegalArgumentException naming the JSON path and the problem if the text is not a
   *     valid event
   */
  public static DpEvent fromJson(String json) {
    if (json == null || json.isBlank()) {
      throw new IllegalArgumentException("invalid DP event JSON: empty input");
    }
    JsonElement node;
    try {
      node = JsonParser.parseReader(depthLimited(json));
    } catch (JsonParseException | IOException e) {
      throw new IllegalArgumentException("invalid DP event JSON: " + e.getMessage(), e);
    }
    return parse(node, "$", 0);
  }

  /**
   * A strict reader over {@code json}, after a first pass refused nesting deeper than events may go (Gson's tree
   * reader would follow it) and content after the event.
   */
  private static JsonReader depthLimited(String json) throws IOException {
    JsonReader scan = new JsonReader(new StringReader(json));
    scan.setStrictness(Strictness.STRICT);
    int depth = 0;
    do {
      JsonToken t = scan.peek();
      switch (t) {
        case BEGIN_OBJECT -> {
          scan.beginObject();
          depth++;
        }
        case BEGIN_ARRAY -> {
          scan.beginArray();
          depth++;
        }
        case END_OBJECT -> {
          scan.endObject();
          depth--;
        }
        case END_ARRAY -> {
          scan.endArray();
          depth--;
        }
        case NAME -> scan.nextName();
        case END_DOCUMENT -> throw new JsonParseException("empty input");
        default -> scan.skipValue();
      }
      if (depth > 2 * MAX_DEPTH + 2) {
        throw new JsonParseException("events nested deeper than " + MAX_DEPTH);
      }
    } while (depth > 0);
    if (scan.peek() != JsonToken.END_DOCUMENT) {
      throw new JsonParseException("content after the event at " + scan.getPath());
    }
    JsonReader reader = new JsonReader(new StringReader(json));
    reader.setStrictness(Strictness.STRICT);
    return reader;
  }

  private static DpEvent parse(JsonElement node, String path, int depth) {
    if (depth > MAX_DEPTH) {
      throw error(path, "events nested deeper than " + MAX_DEPTH);
    }
    if (!node.isJsonObject()) {
      throw error(path, "expected an object, got " + kind(node));
    }
    JsonElement typeNode = node.getAsJsonObject().get("type");
    if (typeNode == null || !(typeNode instanceof JsonPrimitive p && p.isString())) {
      throw error(path, "missing string field 'type'");
    }
    String type = typeNode.getAsString();
    try {
      switch (type) {
        case "gaussian":
          fields(node, path, type, Set.of("noise_multiplier"));
          return new GaussianEvent(number(node, path, "noise_multiplier"));
        case "laplace":
          fields(node, path, type, Set.of("scale"));
          return new LaplaceEvent(number(node, path, "scale"));
        case "poisson_sampled":
          fields(node, path, type, Set.of("sampling_probability", "event"));
          return new PoissonSampledEvent(number(node, path, "sampling_probability"),
              parse(node.getAsJsonObject().get("event"), path + ".event", depth + 1));
        case "sampled_without_replacement":
          fields(node, path, type, Set.of("source_size", "sample_size", "event"));
          return new SampledWithoutReplacementEvent(integer(node, path, "source_size"),
              integer(node, path, "sample_size"), parse(node.getAsJsonObject().get("event"), path + ".event", depth + 1));
        case "self_composed":
          fields(node, path, type, Set.of("count", "event"));
          return new SelfComposedEvent(parse(node.getAsJsonObject().get("event"), path + ".event", depth + 1),
              integer(node, path, "count"));
        case "composed": {
          fields(node, path, type, Set.of("events"));
          JsonElement eventsNode = node.getAsJsonObject().get("events");
          if (!eventsNode.isJsonArray()) {
            throw error(path + ".events", "expected an array");
          }
          JsonArray events = eventsNode.getAsJsonArray();
          List<DpEvent> list = new ArrayList<>(events.size());
          for (int i = 0; i < events.size(); i++) {
            list.add(parse(events.get(i), path + ".events[" + i + "]", depth + 1));
          }
          return new ComposedEvent(list);
        }
        case "no_op":
          fields(node, path, type, Set.of());
          return new NoOpEvent();
        case "non_private":
          fields(node, path, type, Set.of());
          return new NonPrivateEvent();
        default:
          throw error(path + ".type", "unknown event type '" + type + "'");
      }
    } catch (DpEventJsonException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      // a record rejected its values (e.g. sampling probability 1.5)
      throw error(path, e.getMessage());
    }
  }

  private static void fields(JsonElement element, String path, String type, Set<String> required) {
    JsonObject node = element.getAsJsonObject();
    for (String name : required) {
      if (!node.has(name) || node.get(name).isJsonNull()) {
        throw error(path, "missing field '" + name + "' for type '" + type + "'");
      }
    }
    for (String name : node.keySet()) {
      if (!name.equals("type") && !required.contains(name)) {
        throw error(path + "." + name, "unknown field for type '" + type + "'");
      }
    }
  }

  private static double number(JsonElement node, String path, String field) {
    JsonElement v = node.getAsJsonObject().get(field);
    if (!(v instanceof JsonPrimitive p && p.isNumber())) {
      throw error(path + "." + field, "expected a number, got " + v);
    }
    return p.getAsDouble();
  }

  private static long integer(JsonElement node, String path, String field) {
    JsonElement v = node.getAsJsonObject().get(field);
    if (!(v instanceof JsonPrimitive p && p.isNumber() && INTEGER.matcher(p.getAsString()).matches())) {
      throw error(path + "." + field, "expected an integer, got " + v);
    }
    try {
      return Long.parseLong(p.getAsString());
    } catch (NumberFormatException e) {
      throw error(path + "." + field, "expected an integer, got " + v + " (out of range)");
    }
  }

  private static String kind(JsonElement node) {
    if (node.isJsonArray()) {
      return "array";
    }
    if (node.isJsonNull()) {
      return "null";
    }
    JsonPrimitive p = node.getAsJsonPrimitive();
    return p.isString() ? "string" : p.isNumber() ? "number" : "boolean";
  }

  private static DpEventJsonException error(String path, String message) {
    return new DpEventJsonException("invalid DP event JSON at " + path + ": " + message);
  }

  /** A JSON document that is not a valid DP event. */
  private static final class DpEventJsonException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    DpEventJsonException(String message) {
      super(message);
    }
  }
}

package org.cloister.dp.events;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * JSON form of {@link DpEvent}s, as stored in the privacy ledger. Every event is an object with
 * a {@code "type"} and snake_case fields, for example
 * {@code {"type":"self_composed","count":100,"event":{"type":"poisson_sampled",
 * "sampling_probability":0.01,"event":{"type":"gaussian","noise_multiplier":1.1}}}}.
 *
 * <p>Doubles are written in their shortest round-trip form, so {@code fromJson(toJson(e))}
 * equals {@code e}. Parsing is strict: unknown types, unknown or missing fields, wrong value
 * kinds and out-of-range values are rejected with an {@link IllegalArgumentException} naming
 * the JSON path of the problem.
 */
public final class DpEventJson {

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final int MAX_DEPTH = 64;

  private DpEventJson() {
  }

  /** The JSON text of {@code event}. */
  public static String toJson(DpEvent event) {
    try {
      return MAPPER.writeValueAsString(toNode(event));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialize " + event, e);
    }
  }

  /** The JSON tree of {@code event} (for embedding in larger documents). */
  public static ObjectNode toNode(DpEvent event) {
    ObjectNode node = MAPPER.createObjectNode();
    if (event instanceof GaussianEvent g) {
      node.put("type", "gaussian").put("noise_multiplier", g.noiseMultiplier());
    } else if (event instanceof LaplaceEvent l) {
      node.put("type", "laplace").put("scale", l.scale());
    } else if (event instanceof PoissonSampledEvent p) {
      node.put("type", "poisson_sampled").put("sampling_probability", p.samplingProbability());
      node.set("event", toNode(p.event()));
    } else if (event instanceof SampledWithoutReplacementEvent s) {
      node.put("type", "sampled_without_replacement").put("source_size", s.sourceSize())
          .put("sample_size", s.sampleSize());
      node.set("event", toNode(s.event()));
    } else if (event instanceof SelfComposedEvent s) {
      node.put("type", "self_composed").put("count", s.count());
      node.set("event", toNode(s.event()));
    } else if (event instanceof ComposedEvent c) {
      node.put("type", "composed");
      ArrayNode events = node.putArray("events");
      for (DpEvent e : c.events()) {
        events.add(toNode(e));
      }
    } else if (event instanceof NoOpEvent) {
      node.put("type", "no_op");
    } else if (event instanceof NonPrivateEvent) {
      node.put("type", "non_private");
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
    JsonNode node;
    try {
      node = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("invalid DP event JSON: " + e.getOriginalMessage(), e);
    }
    if (node == null || node.isMissingNode()) {
      throw new IllegalArgumentException("invalid DP event JSON: empty input");
    }
    return fromNode(node);
  }

  /** Parses an event from a JSON tree. */
  public static DpEvent fromNode(JsonNode node) {
    return parse(node, "$", 0);
  }

  private static DpEvent parse(JsonNode node, String path, int depth) {
    if (depth > MAX_DEPTH) {
      throw error(path, "events nested deeper than " + MAX_DEPTH);
    }
    if (!node.isObject()) {
      throw error(path, "expected an object, got " + node.getNodeType().name().toLowerCase());
    }
    JsonNode typeNode = node.get("type");
    if (typeNode == null || !typeNode.isTextual()) {
      throw error(path, "missing string field 'type'");
    }
    String type = typeNode.asText();
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
              parse(node.get("event"), path + ".event", depth + 1));
        case "sampled_without_replacement":
          fields(node, path, type, Set.of("source_size", "sample_size", "event"));
          return new SampledWithoutReplacementEvent(integer(node, path, "source_size"),
              integer(node, path, "sample_size"), parse(node.get("event"), path + ".event", depth + 1));
        case "self_composed":
          fields(node, path, type, Set.of("count", "event"));
          return new SelfComposedEvent(parse(node.get("event"), path + ".event", depth + 1),
              integer(node, path, "count"));
        case "composed": {
          fields(node, path, type, Set.of("events"));
          JsonNode events = node.get("events");
          if (!events.isArray()) {
            throw error(path + ".events", "expected an array");
          }
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

  private static void fields(JsonNode node, String path, String type, Set<String> required) {
    for (String name : required) {
      if (!node.has(name) || node.get(name).isNull()) {
        throw error(path, "missing field '" + name + "' for type '" + type + "'");
      }
    }
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!name.equals("type") && !required.contains(name)) {
        throw error(path + "." + name, "unknown field for type '" + type + "'");
      }
    }
  }

  private static double number(JsonNode node, String path, String field) {
    JsonNode v = node.get(field);
    if (!v.isNumber()) {
      throw error(path + "." + field, "expected a number, got " + v);
    }
    return v.doubleValue();
  }

  private static long integer(JsonNode node, String path, String field) {
    JsonNode v = node.get(field);
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw error(path + "." + field, "expected an integer, got " + v);
    }
    return v.longValue();
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

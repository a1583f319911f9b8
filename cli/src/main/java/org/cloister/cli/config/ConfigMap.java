package org.cloister.cli.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Typed, strict access to a YAML configuration: unknown keys, missing keys and wrong types are
 * errors naming the file and the key path (e.g. {@code site.yaml: 'tls.certificate' is missing}).
 * Relative paths resolve against the file's folder.
 */
public final class ConfigMap {
  private final Map<?, ?> map;
  private final String source;
  private final String prefix;
  private final Path baseDir;

  private ConfigMap(Map<?, ?> map, String source, String prefix, Path baseDir) {
    this.map = map;
    this.source = source;
    this.prefix = prefix;
    this.baseDir = baseDir;
  }

  public static ConfigMap load(Path file, Set<String> allowedKeys) throws IOException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new IllegalArgumentException(file + ": not UTF-8 text (" + e.getClass().getSimpleName() + ")");
    }
    Object root;
    try {
      root = new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
    } catch (YAMLException e) {
      throw new IllegalArgumentException(file + ": not valid YAML: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (!(root instanceof Map<?, ?> m)) {
      throw new IllegalArgumentException(file + ": expected a mapping of keys to values");
    }
    Path base = file.toAbsolutePath().getParent();
    ConfigMap c = new ConfigMap(m, file.getFileName().toString(), "", base);
    c.allowOnly(allowedKeys);
    return c;
  }

  public void allowOnly(Set<String> keys) {
    for (Object k : map.keySet()) {
      if (!keys.contains(String.valueOf(k))) {
        throw error("'" + prefix + k + "' is not a known key (known: " + new java.util.TreeSet<>(keys) + ")");
      }
    }
  }

  public boolean has(String key) {
    return map.get(key) != null;
  }

  public ConfigMap section(String key, Set<String> allowedKeys) {
    Object v = map.get(key);
    if (!(v instanceof Map<?, ?> m)) {
      throw error("'" + prefix + key + "' must be a mapping");
    }
    ConfigMap c = new ConfigMap(m, source, prefix + key + ".", baseDir);
    c.allowOnly(allowedKeys);
    return c;
  }

  public boolean isMapping(String key) {
    return map.get(key) instanceof Map;
  }

  /** A nested mapping as parsed (for a parser that names its own errors), or an error naming the key. */
  public Map<?, ?> mapping(String key) {
    Object v = map.get(key);
    if (!(v instanceof Map<?, ?> m)) {
      throw error("'" + prefix + key + "' must be a mapping");
    }
    return m;
  }

  public String string(String key) {
    Object v = map.get(key);
    if (v == null) {
      throw error("'" + prefix + key + "' is missing");
    }
    if (v instanceof Map || v instanceof List) {
      throw error("'" + prefix + key + "' must be a text value");
    }
    return String.valueOf(v);
  }

  public String string(String key, String dflt) {
    return has(key) ? string(key) : dflt;
  }

  public int integer(String key, int dflt) {
    if (!has(key)) {
      return dflt;
    }
    if (map.get(key) instanceof Integer i) {
      return i;
    }
    throw error("'" + prefix + key + "' must be a whole number, got '" + map.get(key) + "'");
  }

  public double number(String key, double dflt) {
    if (!has(key)) {
      return dflt;
    }
    if (map.get(key) instanceof Number n) {
      return n.doubleValue();
    }
    throw error("'" + prefix + key + "' must be a number, got '" + map.get(key) + "'");
  }

  /** A number that must be given (no default). */
  public double requiredNumber(String key) {
    if (!has(key)) {
      throw error("'" + prefix + key + "' is missing (a required number)");
    }
    return number(key, Double.NaN);
  }

  public boolean bool(String key, boolean dflt) {
    if (!has(key)) {
      return dflt;
    }
    if (map.get(key) instanceof Boolean b) {
      return b;
    }
    throw error("'" + prefix + key + "' must be true or false");
  }

  public List<String> strings(String key) {
    Object v = map.get(key);
    if (v == null) {
      return List.of();
    }
    if (!(v instanceof List<?> l)) {
      throw error("'" + prefix + key + "' must be a list");
    }
    List<String> out = new ArrayList<>();
    l.forEach(o -> out.add(String.valueOf(o)));
    return out;
  }

  /** A file path, relative to the configuration's folder unless absolute. */
  public Path path(String key) {
    return baseDir.resolve(string(key)).normalize();
  }

  /** {@code host:port}. */
  public java.net.InetSocketAddress address(String key, String dflt) {
    String v = string(key, dflt);
    int colon = v.lastIndexOf(':');
    if (colon <= 0) {
      throw error("'" + prefix + key + "' must be host:port, got '" + v + "'");
    }
    try {
      int port = Integer.parseInt(v.substring(colon + 1));
      if (port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return new java.net.InetSocketAddress(v.substring(0, colon), port);
    } catch (NumberFormatException e) {
      throw error("'" + prefix + key + "' has a bad port in '" + v + "'");
    }
  }

  /** Resolves {@code jdbc:sqlite:RELATIVE} against the configuration's folder. */
  public String jdbcUrl(String key, String dflt) {
    String url = string(key, dflt);
    if (url.startsWith("jdbc:sqlite:") && !url.startsWith("jdbc:sqlite::memory:")) {
      Path p = Path.of(url.substring("jdbc:sqlite:".length()));
      return "jdbc:sqlite:" + baseDir.resolve(p).normalize();
    }
    return url;
  }

  public IllegalArgumentException error(String message) {
    return new IllegalArgumentException(source + ": " + message);
  }
}

package org.cloister.cli.provision;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * A consortium as described in {@code CONSORTIUM.yaml}:
 *
 * <pre>
 * consortium: wdbc-study
 * coordinator: {host: 127.0.0.1, port: 7443}
 * sites: [site-1, site-2, site-3]
 * validity_days: 365
 * </pre>
 */
public record ConsortiumSpec(String name, String coordinatorHost, int coordinatorPort, List<String> sites, int validityDays) {
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  public ConsortiumSpec {
    sites = List.copyOf(sites);
    if (!ID.matcher(name).matches()) {
      throw new IllegalArgumentException("consortium name '" + name + "' must be 1-64 of A-Z a-z 0-9 . _ -");
    }
    if (sites.isEmpty()) {
      throw new IllegalArgumentException("'sites' must list at least one site");
    }
    Set<String> seen = new LinkedHashSet<>();
    for (String s : sites) {
      if (!ID.matcher(s).matches()) {
        throw new IllegalArgumentException("site id '" + s + "' must be 1-64 of A-Z a-z 0-9 . _ -");
      }
      if (s.equals("coordinator") || s.equals("ca")) {
        throw new IllegalArgumentException("site id '" + s + "' is reserved");
      }
      if (!seen.add(s)) {
        throw new IllegalArgumentException("site id '" + s + "' appears twice");
      }
    }
    if (coordinatorPort < 1 || coordinatorPort > 65535) {
      throw new IllegalArgumentException("coordinator.port must be in 1..65535, got " + coordinatorPort);
    }
    if (validityDays < 1 || validityDays > 3650) {
      throw new IllegalArgumentException("validity_days must be in 1..3650, got " + validityDays);
    }
  }

  public static ConsortiumSpec load(Path file) throws IOException {
    Object root;
    try {
      root = new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(file, StandardCharsets.UTF_8));
    } catch (YAMLException e) {
      throw new IllegalArgumentException(file + ": not valid YAML: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (!(root instanceof Map<?, ?> m)) {
      throw new IllegalArgumentException(file + ": expected a mapping with consortium, coordinator and sites");
    }
    for (Object k : m.keySet()) {
      if (!Set.of("consortium", "coordinator", "sites", "validity_days").contains(String.valueOf(k))) {
        throw new IllegalArgumentException(file + ": unknown key '" + k + "'");
      }
    }
    Object name = m.get("consortium");
    if (name == null) {
      throw new IllegalArgumentException(file + ": missing 'consortium'");
    }
    String host = "127.0.0.1";
    int port = 7443;
    if (m.get("coordinator") instanceof Map<?, ?> c) {
      if (c.get("host") != null) {
        host = String.valueOf(c.get("host"));
      }
      if (c.get("port") != null) {
        if (!(c.get("port") instanceof Integer p)) {
          throw new IllegalArgumentException(file + ": 'coordinator.port' must be a whole number");
        }
        port = p;
      }
    } else if (m.get("coordinator") != null) {
      throw new IllegalArgumentException(file + ": 'coordinator' must be a mapping with host and port");
    }
    if (!(m.get("sites") instanceof List<?> list)) {
      throw new IllegalArgumentException(file + ": 'sites' must be a list of site ids");
    }
    List<String> sites = new ArrayList<>();
    for (Object o : list) {
      sites.add(String.valueOf(o));
    }
    int days = 365;
    if (m.get("validity_days") != null) {
      if (!(m.get("validity_days") instanceof Integer d)) {
        throw new IllegalArgumentException(file + ": 'validity_days' must be a whole number");
      }
      days = d;
    }
    return new ConsortiumSpec(String.valueOf(name), host, port, sites, days);
  }
}

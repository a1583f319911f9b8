package org.cloister.cli.provision;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.cloister.cli.config.ConfigMap;

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
    ConfigMap c = ConfigMap.load(file, Set.of("consortium", "coordinator", "sites", "validity_days"));
    String host = "127.0.0.1";
    int port = 7443;
    if (c.has("coordinator")) {
      ConfigMap coord = c.section("coordinator", Set.of("host", "port"));
      host = coord.string("host", host);
      port = coord.integer("port", port);
    }
    if (!c.has("sites")) {
      throw c.error("'sites' must list the site ids");
    }
    return new ConsortiumSpec(c.string("consortium"), host, port, c.strings("sites"), c.integer("validity_days", 365));
  }
}

package org.cloister.enclave.runtime;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** {@code --name value} and {@code --flag} arguments of a process entry point, with errors that name the option. */
public final class ProcessArgs {
  private final Map<String, String> values = new HashMap<>();
  private final Set<String> flags = new HashSet<>();

  private ProcessArgs() {
  }

  /**
   * @param valued names that take a value
   * @param flagNames names that take none
   * @throws IllegalArgumentException naming an unknown option or a missing value
   */
  public static ProcessArgs parse(String[] args, Set<String> valued, Set<String> flagNames) {
    ProcessArgs a = new ProcessArgs();
    for (int i = 0; i < args.length; i++) {
      String name = args[i];
      if (flagNames.contains(name)) {
        a.flags.add(name);
      } else if (valued.contains(name)) {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("option " + name + " needs a value");
        }
        a.values.put(name, args[++i]);
      } else {
        throw new IllegalArgumentException("unknown option '" + name + "' (options: " + valued + " " + flagNames + ")");
      }
    }
    return a;
  }

  public String required(String name) {
    String v = values.get(name);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("option " + name + " is required");
    }
    return v;
  }

  public Path requiredPath(String name) {
    return Path.of(required(name));
  }

  public String optional(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  public boolean flag(String name) {
    return flags.contains(name);
  }

  /** Parses {@code HOST:PORT}. */
  public static java.net.InetSocketAddress address(String option, String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(option + " must be HOST:PORT, got '" + hostPort + "'");
    }
    try {
      return new java.net.InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + " must be HOST:PORT with a port 0..65535, got '" + hostPort + "'");
    }
  }
}

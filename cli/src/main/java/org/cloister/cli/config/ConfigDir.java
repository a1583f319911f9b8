package org.cloister.cli.config;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.cloister.simulations.config.StrictYaml;

/**
 * A configuration file that was bound (its name, for errors) and its folder, against which its
 * relative paths resolve.
 */
public record ConfigDir(String source, Path baseDir) {

  /** Binds {@code file} strictly to {@code type} ({@link StrictYaml}). */
  public static <T> Bound<T> bind(Path file, Class<T> type) {
    T value = StrictYaml.bind(file, type);
    return new Bound<>(value, new ConfigDir(file.getFileName().toString(), file.toAbsolutePath().getParent()));
  }

  /** A bound file: its records and where it lies. */
  public record Bound<T>(T value, ConfigDir dir) {
  }

  /** A path, relative to the file's folder unless absolute. */
  public Path path(String value) {
    return baseDir.resolve(value).normalize();
  }

  /** {@code host:port} given under {@code key}. */
  public InetSocketAddress address(String key, String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0) {
      throw error("'" + key + "' must be host:port, got '" + value + "'");
    }
    try {
      int port = Integer.parseInt(value.substring(colon + 1));
      if (port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return new InetSocketAddress(value.substring(0, colon), port);
    } catch (NumberFormatException e) {
      throw error("'" + key + "' has a bad port in '" + value + "'");
    }
  }

  /** Resolves {@code jdbc:sqlite:RELATIVE} against the file's folder. */
  public String jdbcUrl(String url) {
    if (url.startsWith("jdbc:sqlite:") && !url.startsWith("jdbc:sqlite::memory:")) {
      return "jdbc:sqlite:" + baseDir.resolve(Path.of(url.substring("jdbc:sqlite:".length()))).normalize();
    }
    return url;
  }

  /** An error naming this file. */
  public IllegalArgumentException error(String message) {
    return new IllegalArgumentException(source + ": " + message);
  }
}

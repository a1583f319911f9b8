package org.cloister.coordinator.enclave;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A separate JVM started with {@code java -cp CLASSPATH MAIN ARGS}, that announces itself with one
 * line {@code <READY-PREFIX>key=value ...} (or {@code <FAILED-PREFIX>reason}) on standard output.
 * Its output is forwarded line by line to this process's log (warnings and errors as warnings,
 * the rest as info); its standard input stays open so it
 * can exit when this process dies ({@code --exit-with-parent}). {@link #close()} ends it (only it).
 */
public final class JavaProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Map<String, String> ready;

  private JavaProcess(String name, Process process, Map<String, String> ready) {
    this.name = name;
    this.process = process;
    this.ready = ready;
  }

  /** The process could not be started or reported failure (the message carries its reason). */
  public static final class StartException extends IOException {
    public StartException(String message) {
      super(message);
    }
  }

  private static final java.util.regex.Pattern CHILD_LOG_PREFIX =
      java.util.regex.Pattern.compile("^(?:\\S+ )?\\[[^\\]]*\\] (TRACE|DEBUG|INFO|WARN|ERROR) \\S+ - (.*)$");

  /**
   * A child's output line as this process logs it: {level, message}. A line the child logged through SLF4J's simple
   * logger ({@code [thread] LEVEL logger - message}) loses that prefix, as this process's logger adds its own (no
   * doubled prefix); its level is kept. Other lines are WARN when they warn, else INFO.
   */
  static String[] childLine(String line) {
    java.util.regex.Matcher m = CHILD_LOG_PREFIX.matcher(line);
    if (m.matches()) {
      return new String[] {m.group(1), m.group(2)};
    }
    boolean warn = (line.startsWith("WARNING") && !line.contains("incubator modules")) || line.contains(" WARN ")
        || line.contains(" ERROR ");
    return new String[] {warn ? "WARN" : "INFO", line};
  }

  /**
   * Starts the process and waits until it is ready.
   *
   * @throws StartException when it reports failure, exits, or is not ready within {@code timeout}
   */
  public static JavaProcess start(String name, List<String> jvmArgs, List<Path> classpath, String mainClass,
                                  List<String> args, String readyPrefix, String failedPrefix, Duration timeout)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmArgs);
    cmd.add("-cp");
    cmd.add(String.join(java.io.File.pathSeparator, classpath.stream().map(Path::toString).toList()));
    cmd.add(mainClass);
    cmd.addAll(args);
    Logger out = LoggerFactory.getLogger("org.cloister.process." + name);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    CompletableFuture<Map<String, String>> readyLine = new CompletableFuture<>();
    List<String> early = new ArrayList<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          if (!readyLine.isDone()) {
            if (line.startsWith(readyPrefix)) {
              readyLine.complete(fields(line.substring(readyPrefix.length())));
              continue;
            }
            if (line.startsWith(failedPrefix)) {
              readyLine.completeExceptionally(new StartException(name + " failed to start: "
                  + line.substring(failedPrefix.length())));
              continue;
            }
            synchronized (early) {
              if (early.size() < 50) {
                early.add(line);
              }
            }
          }
          String[] child = childLine(line);
          if ("WARN".equals(child[0]) || "ERROR".equals(child[0])) {
            out.warn("{}", child[1]);
          } else {
            out.info("{}", child[1]);
          }
        }
      } catch (IOException e) {
        // stream closed: the process ended
      }
      readyLine.completeExceptionally(new StartException(name + " exited before it was ready"));
    }, name + "-output");
    reader.setDaemon(true);
    reader.start();
    try {
      Map<String, String> fields = readyLine.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return new JavaProcess(name, p, fields);
    } catch (ExecutionException e) {
      destroy(p);
      String tail;
      synchronized (early) {
        tail = early.isEmpty() ? "" : " (output: " + String.join(" | ", early.subList(Math.max(0, early.size() - 5),
            early.size())) + ")";
      }
      throw e.getCause() instanceof StartException s ? new StartException(s.getMessage() + tail)
          : new StartException(name + " failed to start: " + e.getCause());
    } catch (TimeoutException e) {
      destroy(p);
      throw new StartException(name + " was not ready within " + timeout.toSeconds() + " s");
    } catch (InterruptedException e) {
      destroy(p);
      Thread.currentThread().interrupt();
      throw new StartException("interrupted while starting " + name);
    }
  }

  private static Map<String, String> fields(String s) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String part : s.trim().split("\\s+")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        m.put(part.substring(0, eq), part.substring(eq + 1));
      }
    }
    return m;
  }

  /** A field of the ready line, e.g. {@code port}. */
  public String readyField(String key) {
    String v = ready.get(key);
    if (v == null) {
      throw new IllegalStateException(name + " did not report '" + key + "' when ready: " + ready);
    }
    return v;
  }

  public int port() {
    return Integer.parseInt(readyField("port"));
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() {
    destroy(process);
  }

  private static void destroy(Process p) {
    p.destroy();
    try {
      if (!p.waitFor(5, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return name + "[pid " + process.pid() + "]";
  }
}

package org.cloister.simulations.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * CPU time of a process's threads grouped by what they do, read from {@code /proc/<pid>/task} (Linux; empty
 * elsewhere). Threads are classified by their name (the kernel keeps the first 15 characters of a Java thread's
 * name). A thread that ends between two snapshots loses its CPU from the difference, one that starts counts
 * fully: the benchmark's threads live for the whole study, so both are rare.
 */
final class ThreadCpu {
  private ThreadCpu() {
  }

  /** CPU nanoseconds per group of the given process's live threads. */
  static Map<String, Long> snapshot(long pid) {
    Map<String, Long> out = new TreeMap<>();
    Path tasks = Path.of("/proc", Long.toString(pid), "task");
    if (!Files.isDirectory(tasks)) {
      return out;
    }
    try (var list = Files.list(tasks)) {
      for (Path t : list.toList()) {
        try {
          String comm = Files.readString(t.resolve("comm")).strip();
          String stat = Files.readString(t.resolve("stat"));
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
          out.merge(classify(comm), ticks * 10_000_000L, Long::sum); // USER_HZ = 100 on Linux
        } catch (IOException | RuntimeException e) {
          // the thread ended meanwhile
        }
      }
    } catch (IOException e) {
      return out;
    }
    return out;
  }

  /** Per group, {@code end - start}, in milliseconds divided by {@code rounds}. */
  static Map<String, Double> perRound(Map<String, Long> start, Map<String, Long> end, int rounds) {
    Map<String, Double> out = new TreeMap<>();
    for (Map.Entry<String, Long> e : end.entrySet()) {
      double ms = (e.getValue() - start.getOrDefault(e.getKey(), 0L)) / 1e6 / rounds;
      out.put(e.getKey(), Math.round(ms * 10) / 10.0);
    }
    return out;
  }

  /** What a thread does, from its (truncated) name. */
  static String classify(String comm) {
    String c = comm.toLowerCase(Locale.ROOT);
    if (c.startsWith("c1 compiler") || c.startsWith("c2 compiler")) {
      return "jit";
    }
    if (c.startsWith("gc ") || c.startsWith("g1 ") || c.startsWith("vm thread") || c.startsWith("vm periodic")) {
      return "gc_vm";
    }
    if (c.startsWith("bench-site") || c.startsWith("site-") || c.startsWith("round-challeng")) {
      return "sites";
    }
    if (c.startsWith("grpc-nio-worke") || c.startsWith("grpc-default-w") || c.startsWith("grpc-nio-boss")
        || c.startsWith("grpc-default-b") || c.startsWith("okhttpservertr")) {
      return "netty_io";
    }
    if (c.startsWith("grpc-default-e") || c.startsWith("round-engine") || c.startsWith("enclave-stream")
        || c.startsWith("coordinator")) {
      return "coordinator";
    }
    if (c.startsWith("enclave-verify")) {
      return "enclave_verify";
    }
    return "other";
  }
}

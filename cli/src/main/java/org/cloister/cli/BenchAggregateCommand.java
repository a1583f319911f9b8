package org.cloister.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.cloister.consortium.SecureAggregationSetup;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code cloister bench aggregate}: the enclave's decrypt-validate-sum throughput against raw
 * AES-256-GCM decryption, both measured in one JVM started from the enclave image with the
 * enclave's JVM settings (Vector API enabled), in the same run.
 */
@Command(name = "aggregate", mixinStandardHelpOptions = true,
    description = {"Measures the enclave's decrypt-validate-sum throughput against raw AES-256-GCM decryption.",
        "Measures the secure aggregator's decrypt-validate-sum throughput for N sites of P float32 parameters "
        + "(HPKE open, finite and norm checks, weighted sum, as inside the enclave) and raw AES-256-GCM "
        + "decryption of ciphertexts of the same size, alternately in one JVM started from the enclave image; "
        + "reports both and their ratio (target: >= 0.70 for N = 100, P = 10^6). Needs about 2 * N * P * 4 "
        + "bytes of memory."})
final class BenchAggregateCommand implements Callable<Integer> {
  static final String MAIN = "org.cloister.bench.AggregationBenchmark";

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--sites", paramLabel = "N", defaultValue = "100", description = "Number of sealed updates (default ${DEFAULT-VALUE}).")
  int sites;

  @Option(names = "--params", paramLabel = "P", defaultValue = "1000000", description = "Parameters per update (default ${DEFAULT-VALUE}).")
  int params;

  @Option(names = "--repeat", paramLabel = "R", defaultValue = "7", description = "Measured repetitions; medians are reported (default ${DEFAULT-VALUE}).")
  int repeat;

  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CommandLine cl = spec.commandLine();
    if (sites < 1) {
      throw new CommandLine.ParameterException(cl, "--sites must be >= 1, got " + sites);
    }
    if (params < 1 || (long) params * Float.BYTES > Integer.MAX_VALUE - 64) {
      throw new CommandLine.ParameterException(cl, "--params must be in [1, " + (Integer.MAX_VALUE / 4 - 16) + "], got " + params);
    }
    if (repeat < 1) {
      throw new CommandLine.ParameterException(cl, "--repeat must be >= 1, got " + repeat);
    }
    long heapMb = Math.max(512, (2L * sites * params * Float.BYTES * 12 / 10 + 16L * params * Float.BYTES) / (1 << 20) + 256);
    Path image = SecureAggregationSetup.locateImage();
    // the benchmark code (and its statistics: Percentiles over HdrHistogram) is not in the image, which holds
    // nothing but the enclave: it runs beside it
    List<Path> classpath = image != null
        ? List.of(image, org.cloister.enclave.runtime.CodeMeasurement.codeArtifact(org.cloister.bench.AggregationBenchmark.class),
            org.cloister.enclave.runtime.CodeMeasurement.codeArtifact(org.cloister.observability.Percentiles.class),
            org.cloister.enclave.runtime.CodeMeasurement.codeArtifact(org.HdrHistogram.DoubleHistogram.class))
        : SecureAggregationSetup.currentClasspath();
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-modules", "jdk.incubator.vector", "-Xmx" + heapMb + "m", "-XX:+UseSerialGC",
        "-cp", String.join(java.io.File.pathSeparator, classpath.stream().map(Path::toString).toList()), MAIN,
        "--sites", String.valueOf(sites), "--params", String.valueOf(params), "--repeat", String.valueOf(repeat)));
    PrintWriter err = cl.getErr();
    if (!json) {
      err.printf(Locale.ROOT, "benchmark JVM: %s (heap %d MiB)%n", image != null ? image : "development classpath", heapMb);
      err.flush();
    }
    Process p = new ProcessBuilder(cmd).start();
    CompletableFuture<String> stdout = CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "";
      }
    });
    List<String> progress = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        if (line.startsWith("WARNING: Using incubator modules")) {
          continue;
        }
        progress.add(line);
        if (!json) {
          err.println(line);
          err.flush();
        }
      }
    }
    int code = p.waitFor();
    String out = stdout.get();
    if (code != 0) {
      err.println("benchmark failed (exit " + code + "): " + String.join(" | ", progress));
      err.flush();
      return 1;
    }
    PrintWriter o = cl.getOut();
    if (json) {
      o.println(out.strip());
    } else {
      JsonNode n = new ObjectMapper().readTree(out);
      o.printf(Locale.ROOT, "sites %d, params %d (%.1f MiB of ciphertext), kernel %s, 1 thread, %d processors%n",
          n.get("sites").asInt(), n.get("params").asInt(), n.get("ciphertext_mib").asDouble(), n.get("kernel").asText(),
          n.get("available_processors").asInt());
      o.printf(Locale.ROOT, "raw AES-256-GCM decryption:       %8.1f MiB/s%n", n.get("raw_aes_gcm_decrypt_mib_s").asDouble());
      o.printf(Locale.ROOT, "HPKE open alone (breakdown):      %8.1f MiB/s%n", n.get("hpke_open_mib_s").asDouble());
      o.printf(Locale.ROOT, "enclave decrypt-validate-sum:     %8.1f MiB/s%n", n.get("aggregate_mib_s").asDouble());
      double ratio = n.get("ratio").asDouble();
      o.printf(Locale.ROOT, "ratio (median of %d):             %8.3f  (target >= 0.70: %s)%n", repeat, ratio,
          ratio >= 0.7 ? "met" : "not met");
    }
    o.flush();
    return 0;
  }
}

package org.cloister.cli.service;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.cloister.cli.config.ConfigDir;
import org.cloister.cli.config.CoordinatorFile;
import org.cloister.cli.provision.ConsortiumSpec;
import org.cloister.simulations.ScenarioLoader;

/**
 * The YAML loaders (a consortium spec, a scenario, the coordinator's privacy and DP sections, a
 * party's TLS section) read files an operator edits or receives: whatever the text, loading either
 * succeeds or fails with an {@link IllegalArgumentException} naming the file and what is wrong
 * (or, for a TLS file that cannot be read, an {@link IOException} naming it), never another
 * exception, a hang or unbounded memory (aliases and nesting are bounded by the YAML parser's
 * limits). Half the inputs are a valid file with fuzzer edits.
 */
class YamlConfigFuzzTest {
  private static final Path DIR = tempDir();
  private static final String CONSORTIUM = """
      consortium: fuzz
      coordinator: {host: coordinator, port: 7443}
      sites: [site-1, site-2, site-3]
      validity_days: 365
      key_broker: {host: trustee, address: "broker:7450"}
      observers: [auditor]
      study:
        id: study-1
        model: logreg
        features: 30
        classes: 2
        min_sites: 2
        cohort_floor: 3
        strategy: fedavg
        max_update_norm: 100
      """;
  private static final String COORDINATOR = """
      listen: 127.0.0.1:7443
      sites: [site-1, site-2]
      tls: {certificate: tls.crt, private_key: tls.key, trust_root: ca.crt, revoked_serials: ["0a:1b"]}
      privacy:
        epsilon: 3.0
        delta: 1.0e-5
        sites: {site-2: {epsilon: 2}}
      study:
        id: study-1
        model: logreg
        rounds: 10
        local_steps: 5
        dp: {noise_multiplier: 1.1, clip: 1.0, sampling_rate: 0.1, count_private: true}
      """;
  private static final String SCENARIO = readScenario();

  private static Path tempDir() {
    try {
      Path d = Files.createTempDirectory("yaml-fuzz");
      d.toFile().deleteOnExit();
      return d;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String readScenario() {
    try {
      return Files.readString(Path.of("../examples/demo.yaml"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Raw fuzzer text, or {@code valid} with up to 8 edits (overwritten characters, truncation, inserted YAML tokens). */
  static String mutate(FuzzedDataProvider d, String valid) {
    if (!d.consumeBoolean()) {
      return d.consumeString(4096);
    }
    StringBuilder out = new StringBuilder(valid);
    for (int i = d.consumeInt(1, 8); i > 0 && d.remainingBytes() > 0; i--) {
      switch (d.consumeInt(0, 2)) {
        case 0 -> {
          if (out.length() > 0) {
            out.setCharAt(d.consumeInt(0, out.length() - 1), d.consumeChar());
          }
        }
        case 1 -> out.setLength(d.consumeInt(0, out.length()));
        default -> out.insert(d.consumeInt(0, out.length()), d.pickValue(new String[] {": ", "\n  ", "- ", "{", "}", "[", "]",
            "&a ", "*a", "!!binary ", "!!float ", "~", "null", ".nan", "-.inf", "1e400", "0x1F", "<<: ", "? ", "|\n", "'",
            "\"\\u0000\"", ",", "#", d.consumeString(16)}));
      }
    }
    return out.toString();
  }

  /** The text as a file's UTF-8 bytes (an unpaired surrogate the fuzzer made becomes '?', as an editor would save it). */
  private static Path write(String name, String text) throws IOException {
    return Files.write(DIR.resolve(name), text.getBytes(StandardCharsets.UTF_8));
  }

  private static void refusedClearly(RuntimeException e) {
    if (!(e instanceof IllegalArgumentException) || e.getMessage() == null || e.getMessage().isBlank()) {
      throw new AssertionError("not a clear refusal: " + e, e);
    }
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void consortiumSpec(FuzzedDataProvider d) throws IOException {
    Path f = write("consortium.yaml", mutate(d, CONSORTIUM));
    try {
      ConsortiumSpec.load(f);
    } catch (RuntimeException e) {
      refusedClearly(e);
    }
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void scenario(FuzzedDataProvider d) {
    String text = mutate(d, SCENARIO);
    try {
      new ScenarioLoader().load(text, "scenario.yaml").build();
    } catch (RuntimeException e) {
      refusedClearly(e);
    }
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void coordinatorConfig(FuzzedDataProvider d) throws IOException {
    Path f = write("coordinator.yaml", mutate(d, COORDINATOR));
    try {
      ConfigDir.Bound<CoordinatorFile> bound = ConfigDir.bind(f, CoordinatorFile.class);
      CoordinatorService.budgets(bound);
      CoordinatorService.dpConfig(bound.dir(), bound.value().study());
      TlsMaterial.load(bound.dir(), bound.value().tls());
    } catch (IOException missingFile) {
      if (missingFile.getMessage() == null || missingFile.getMessage().isBlank()) {
        throw new AssertionError("an unreadable file not named", missingFile);
      }
    } catch (RuntimeException e) {
      refusedClearly(e);
    }
  }
}

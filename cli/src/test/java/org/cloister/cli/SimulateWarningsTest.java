package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.cloister.cli.processes.CloisterProcess;
import org.cloister.consortium.SecureAggregationSetup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code simulate} run on the simulated platform starts a key broker and an enclave process and runs its sites in
 * its own process, and {@code infer serve} of its model starts a key broker and an inference enclave: the
 * development-platform warning is printed once per run, not once per process. One simulation serves both tests.
 */
class SimulateWarningsTest {
  @TempDir
  static Path dir;
  static Path simulateLog;
  static Process simulate;

  private final ProcessTestKits.Started processes = new ProcessTestKits.Started();

  @BeforeAll
  static void simulate() throws Exception {
    Assumptions.assumeTrue(SecureAggregationSetup.locateImage() != null,
        "needs the enclave image: ./mvnw -pl cli -am package -DskipTests");
    simulateLog = dir.resolve("simulate.log");
    simulate = CloisterProcess.start(simulateLog, "simulate", "--sites", "2", "--rounds", "1", "--epsilon", "3",
        "--out", dir.resolve("out").toString());
    assertThat(simulate.waitFor(300, TimeUnit.SECONDS)).as("simulate finished").isTrue();
  }

  @AfterEach
  void killAll() {
    processes.killAll();
  }

  /** The development-platform warnings in {@code out}: every one ends "never (use it) with real patient data". */
  private static List<String> developmentWarnings(String out) {
    return out.lines().filter(l -> l.contains("real patient data")).toList();
  }

  @Test
  void aSimulationWarnsAboutTheDevelopmentPlatformOnce() throws Exception {
    String out = Files.readString(simulateLog, StandardCharsets.UTF_8);
    assertThat(simulate.exitValue()).as(out).isZero();
    List<String> warnings = developmentWarnings(out);
    assertThat(warnings).as(out).hasSize(1);
    assertThat(warnings.get(0)).contains("SIMULATED");
  }

  @Test
  void servingItsModelWarnsOnceForTheCommandItsKeyBrokerAndItsInferenceEnclave() throws Exception {
    assertThat(simulate.exitValue()).as(Files.readString(simulateLog, StandardCharsets.UTF_8)).isZero();
    Path log = dir.resolve("infer-serve.log");
    processes.start(log, "infer", "serve", "--study-dir", dir.resolve("out").toString(), "--listen", "127.0.0.1:0",
        "--allow-simulation-model");
    // the key broker and the enclave print their banners before they are ready, and before this line
    ProcessTestKits.awaitLine(log, Pattern.compile("^serving study "), 120);
    String out = Files.readString(log, StandardCharsets.UTF_8);
    List<String> warnings = developmentWarnings(out);
    assertThat(warnings).as(out).hasSize(1);
    Path root = dir.resolve("out").resolve("consortium").resolve("dev-attestation-root.pem");
    assertThat(ServiceLog.strip(warnings.get(0))).as(out).startsWith("WARNING: ").contains("SIMULATED")
        .contains("development root " + root).contains("Never use it with real patient data");
  }
}

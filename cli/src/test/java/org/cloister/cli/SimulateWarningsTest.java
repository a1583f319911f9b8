package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.cloister.cli.processes.CloisterProcess;
import org.cloister.consortium.SecureAggregationSetup;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code simulate} run on the simulated platform starts a key broker and an enclave process and runs its sites in
 * its own process: the development-platform warning is printed once per run, not once per process.
 */
class SimulateWarningsTest {

  @Test
  void aSimulationWarnsAboutTheDevelopmentPlatformOnce(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(SecureAggregationSetup.locateImage() != null,
        "needs the enclave image: ./mvnw -pl cli -am package -DskipTests");
    Path log = dir.resolve("simulate.log");
    Process p = CloisterProcess.start(log, "simulate", "--sites", "2", "--rounds", "1", "--epsilon", "3", "--out",
        dir.resolve("out").toString());
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("simulate finished").isTrue();
    String out = Files.readString(log, StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(out).isZero();
    // every development-platform warning ends "never (use it) with real patient data"
    List<String> warnings = out.lines().filter(l -> l.contains("real patient data")).toList();
    assertThat(warnings).as(out).hasSize(1);
    assertThat(warnings.get(0)).contains("SIMULATED");
  }
}

package org.cloister.coordinator.enclave;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class EnclaveJvmOptionsTest {
  @Test
  void theEnclaveRaisesTheTransportsCompileThresholdsOnlyAndKeepsTheVectorModule() {
    List<String> jvm = LocalEnclaveProcess.jvmOptions("378m", EnclaveProcess.BASE_JVM_OPTIONS, null);

    assertThat(jvm.get(0)).isEqualTo("-Xmx378m");
    assertThat(jvm).contains("-XX:CompileCommand=CompileThresholdScaling,io.grpc.*::*,5.0",
            "-XX:+UseSerialGC", "-XX:NewRatio=1")
        .containsSubsequence("--add-modules", "jdk.incubator.vector")
        .noneMatch(o -> o.startsWith("-XX:CompileThresholdScaling")) // not global: the kernel compiles as before
        .filteredOn(o -> o.startsWith("-XX:CompileCommand=CompileThresholdScaling"))
        .hasSize(4)
        .noneMatch(o -> o.contains("org.cloister") || o.contains("jdk.incubator") || o.contains("com.sun.crypto"));
  }

  @Test
  void theJvmAcceptsTheBaseOptions() throws Exception {
    // a malformed CompileCommand (e.g. an integer where HotSpot wants a double) stops the JVM from starting
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(EnclaveProcess.BASE_JVM_OPTIONS);
    cmd.add("-version");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);

    assertThat(p.waitFor()).as(out).isZero();
    assertThat(out).doesNotContainIgnoringCase("error");
  }

  @Test
  void extraOptionsComeLastSoTheyOverrideTheBaseFlags() {
    List<String> jvm = LocalEnclaveProcess.jvmOptions(null, EnclaveProcess.BASE_JVM_OPTIONS,
        "  -XX:CompileThresholdScaling=1 \t -XX:+UnlockDiagnosticVMOptions ");

    assertThat(jvm.get(0)).isEqualTo("-Xmx512m");
    assertThat(jvm.subList(jvm.size() - 2, jvm.size()))
        .containsExactly("-XX:CompileThresholdScaling=1", "-XX:+UnlockDiagnosticVMOptions");
  }

  @Test
  void blankExtraOptionsAddNothing() {
    assertThat(LocalEnclaveProcess.jvmOptions("1g", List.of("-Da=b"), "   ")).containsExactly("-Xmx1g", "-Da=b");
  }
}

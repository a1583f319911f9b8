package org.cloister.inference.enclave;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.cloister.enclave.runtime.CodeMeasurement;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;

/**
 * The inference enclave's measurements on the simulated platform: PCR0 = the tree digest of its
 * image directory (the directory holding {@value #IMAGE_JAR}, the minimised jar the
 * {@code inference-enclave} module builds; in development, its classes directory), PCR1 = SHA-384
 * of the configuration, PCR2 = SHA-384 of the inference policy.
 */
public final class InferenceMeasurement {
  /** The image's one jar: the enclave and the third-party classes it reaches, nothing else. */
  public static final String IMAGE_JAR = "cloister-inference-enclave.jar";

  private InferenceMeasurement() {
  }

  public static Map<Integer, byte[]> pcrs(Path image, byte[] config, byte[] policy) throws IOException {
    return Map.of(0, CodeMeasurement.measure(image), 1, SimulatedPcrs.measure(config), 2, SimulatedPcrs.measure(policy));
  }

  /** The image this process runs from: the directory holding its {@value #IMAGE_JAR}, or its classes directory. */
  public static Path image() {
    Path code = CodeMeasurement.codeArtifact(InferenceMain.class);
    Path parent = code.getParent();
    if (Files.isRegularFile(code) && parent != null && code.getFileName().toString().equals(IMAGE_JAR)) {
      return parent;
    }
    return code;
  }

  /** Whether {@code dir} is an inference image directory (it holds {@value #IMAGE_JAR}). */
  public static boolean isImage(Path dir) {
    return Files.isRegularFile(dir.resolve(IMAGE_JAR));
  }
}

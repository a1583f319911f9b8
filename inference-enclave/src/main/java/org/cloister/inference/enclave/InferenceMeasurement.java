package org.cloister.inference.enclave;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.cloister.enclave.runtime.CodeMeasurement;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;

/**
 * The inference enclave's measurements on the simulated platform: PCR0 = the tree digest of its
 * image directory (its jar and {@code lib/}; in development, its classes directory), PCR1 =
 * SHA-384 of the configuration, PCR2 = SHA-384 of the inference policy.
 */
public final class InferenceMeasurement {
  /** The directory of an image that holds its libraries (next to the image's own jar). */
  public static final String LIB = "lib";

  private InferenceMeasurement() {
  }

  public static Map<Integer, byte[]> pcrs(Path image, byte[] config, byte[] policy) throws IOException {
    return Map.of(0, CodeMeasurement.measure(image), 1, SimulatedPcrs.measure(config), 2, SimulatedPcrs.measure(policy));
  }

  /** The image this process runs from: the directory holding its jar and lib/, or its classes directory. */
  public static Path image() {
    Path code = CodeMeasurement.codeArtifact(InferenceMain.class);
    Path parent = code.getParent();
    if (Files.isRegularFile(code) && parent != null && Files.isDirectory(parent.resolve(LIB))) {
      return parent;
    }
    return code;
  }
}

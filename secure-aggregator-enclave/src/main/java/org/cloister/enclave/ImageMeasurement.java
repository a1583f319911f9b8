package org.cloister.enclave;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.cloister.enclave.runtime.CodeMeasurement;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;

/**
 * The simulated platform's measurements: PCR0 = SHA-384 of the enclave's code artifact (the image
 * jar it runs from; for a development run from a classes directory, SHA-384 over the sorted
 * {@code path NUL sha384(content) NUL} entries of the tree), PCR1 = SHA-384 of the configuration
 * bytes, PCR2 = SHA-384 of the aggregation policy bytes. Consortium tooling computes the expected
 * values with the same function; a modified jar, configuration or policy gives other PCRs.
 */
public final class ImageMeasurement {
  private ImageMeasurement() {
  }

  /** SHA-384 of a jar file, or the tree digest of a directory ({@link CodeMeasurement}). */
  public static byte[] measure(Path artifact) throws IOException {
    return CodeMeasurement.measure(artifact);
  }

  /** PCR0..PCR2 of an enclave run from {@code artifact} with these configuration and policy bytes. */
  public static Map<Integer, byte[]> pcrs(Path artifact, byte[] configuration, byte[] policy) throws IOException {
    return Map.of(0, measure(artifact), 1, SimulatedPcrs.measure(configuration), 2, SimulatedPcrs.measure(policy));
  }

  /** Where this enclave's code was loaded from (its image jar, or a classes directory in development). */
  public static Path codeArtifact() {
    return CodeMeasurement.codeArtifact(EnclaveMain.class);
  }
}

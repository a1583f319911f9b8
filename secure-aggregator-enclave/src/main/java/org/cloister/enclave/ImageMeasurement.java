package org.cloister.enclave;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
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

  /** SHA-384 of a jar file, or the tree digest of a directory. */
  public static byte[] measure(Path artifact) throws IOException {
    if (Files.isRegularFile(artifact)) {
      return SimulatedPcrs.measure(artifact);
    }
    if (!Files.isDirectory(artifact)) {
      throw new IOException("enclave code artifact " + artifact + " is neither a file nor a directory");
    }
    MessageDigest tree = sha384();
    List<Path> files;
    try (Stream<Path> s = Files.walk(artifact)) {
      files = s.filter(Files::isRegularFile).sorted((a, b) -> rel(artifact, a).compareTo(rel(artifact, b))).toList();
    }
    for (Path f : files) {
      tree.update(rel(artifact, f).getBytes(StandardCharsets.UTF_8));
      tree.update((byte) 0);
      tree.update(SimulatedPcrs.measure(f));
      tree.update((byte) 0);
    }
    return tree.digest();
  }

  /** PCR0..PCR2 of an enclave run from {@code artifact} with these configuration and policy bytes. */
  public static Map<Integer, byte[]> pcrs(Path artifact, byte[] configuration, byte[] policy) throws IOException {
    return Map.of(0, measure(artifact), 1, SimulatedPcrs.measure(configuration), 2, SimulatedPcrs.measure(policy));
  }

  /** Where this enclave's code was loaded from (its image jar, or a classes directory in development). */
  public static Path codeArtifact() {
    try {
      return Path.of(EnclaveMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException | RuntimeException e) {
      throw new IllegalStateException("cannot locate the enclave's code artifact: " + e.getMessage(), e);
    }
  }

  private static String rel(Path root, Path p) {
    return root.relativize(p).toString().replace('\\', '/');
  }

  private static MessageDigest sha384() {
    try {
      return MessageDigest.getInstance("SHA-384");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

package org.cloister.enclave.runtime;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.stream.Stream;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;

/**
 * PCR0 on the simulated platform: SHA-384 of an enclave's code artifact. For a single image jar,
 * SHA-384 of its bytes; for a directory (an image made of several jars, or a development classes
 * directory), SHA-384 over the sorted {@code path NUL sha384(content) NUL} entries of the tree.
 * Consortium tooling computes expected values with the same function.
 */
public final class CodeMeasurement {
  private CodeMeasurement() {
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

  /** Where {@code mainClass} was loaded from (an image jar, or a classes directory in development). */
  public static Path codeArtifact(Class<?> mainClass) {
    try {
      return Path.of(mainClass.getProtectionDomain().getCodeSource().getLocation().toURI());
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

package org.cloister.trust.attestation.nitro;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;

/**
 * Simulated measurements for the development platform: PCR0 = SHA-384 of the code artifact (e.g. the
 * enclave jar), PCR1 = SHA-384 of the configuration bytes, PCR2 = SHA-384 of the policy bytes.
 *
 * <p>These are not the values a real enclave image (EIF) would have: Nitro computes PCR0..2 over the
 * image, kernel and application with extend operations. They only let development deployments pin
 * "which code and configuration" in the same way production pins real PCRs.
 */
public final class SimulatedPcrs {
  private SimulatedPcrs() {}

  /** PCR0..PCR2 for a code artifact file and configuration/policy bytes. */
  public static Map<Integer, byte[]> of(Path codeArtifact, byte[] configuration, byte[] policy) throws IOException {
    return Map.of(0, measure(codeArtifact), 1, measure(configuration), 2, measure(policy));
  }

  /** SHA-384 of {@code bytes}. */
  public static byte[] measure(byte[] bytes) {
    return sha384().digest(bytes);
  }

  /** SHA-384 of the file's content, streamed. */
  public static byte[] measure(Path file) throws IOException {
    MessageDigest md = sha384();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buffer = new byte[64 * 1024];
      int n;
      while ((n = in.read(buffer)) > 0) {
        md.update(buffer, 0, n);
      }
    }
    return md.digest();
  }

  private static MessageDigest sha384() {
    try {
      return MessageDigest.getInstance("SHA-384");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-384 unavailable", e);
    }
  }
}

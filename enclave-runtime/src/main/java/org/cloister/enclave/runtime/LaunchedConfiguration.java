package org.cloister.enclave.runtime;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.cloister.protocol.v1.Evidence;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.LaunchConfiguration;
import org.cloister.trust.attestation.TeePlatform;

/**
 * An enclave on SEV-SNP or TDX checks, before it serves, that the host launched its VM with the
 * {@link LaunchConfiguration} value of the configuration and policy files it loaded ({@code host_data} /
 * {@code mr_config_id}, signed by the hardware into every report), so that parties pinning that value know which
 * files it runs with. A Nitro enclave needs no check (PCR1 and PCR2 measure the files).
 */
public final class LaunchedConfiguration {
  private LaunchedConfiguration() {
  }

  /**
   * @throws IllegalStateException naming both values when the launch value is not the files' digest
   */
  public static void require(EvidenceSource source, byte[] config, byte[] policy, byte[] hpkePublicKey,
                             SecureRandom random) {
    if (source instanceof EvidenceSource.Nitro) {
      return;
    }
    byte[] nonce = new byte[32];
    random.nextBytes(nonce);
    Evidence e = source.evidence(nonce, new byte[0], hpkePublicKey);
    // its own evidence: a built-in confidential VM's (no verifier registry inside the image); any other platform
    // defines no launch value, and LaunchConfiguration refuses it by name
    TeePlatform platform = TeePlatform.builtIn(e.getPlatform()).orElseGet(() -> TeePlatform.named(e.getPlatform()));
    byte[] expected = LaunchConfiguration.digest(platform, config, policy);
    byte[] launched;
    try {
      launched = LaunchConfiguration.inEvidence(platform, e.getEvidence().toByteArray());
    } catch (AttestationException ex) {
      throw new IllegalStateException("cannot read this VM's own " + platform.id() + " report: " + ex.getMessage(), ex);
    }
    if (!MessageDigest.isEqual(expected, launched)) {
      String name = LaunchConfiguration.measurementName(platform);
      throw new IllegalStateException("this " + platform.id() + " VM was launched with " + name + " "
          + HexFormat.of().formatHex(launched) + " but the configuration and policy given digest to "
          + HexFormat.of().formatHex(expected) + ": the host changed them, or launched the VM without them; "
          + "refusing to start (docs/deployment.md: launch with " + name + " from provision)");
    }
  }
}

package org.cloister.enclave.runtime;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/**
 * Service-provider interface for the enclave side of an attestation platform: how an enclave process
 * produces evidence on it ({@code --platform NAME}). Implementations are found by
 * {@link java.util.ServiceLoader} ({@code META-INF/services/org.cloister.enclave.runtime.AttestationPlatformProvider})
 * on the enclave's class path, which is part of its measured image: a plug-in changes PCR0, so a verifier
 * pinning the image's measurement refuses an image carrying one it did not review.
 *
 * <p>The verifier side is {@code org.cloister.trust.attestation.EvidenceVerifiers}: producing evidence
 * proves nothing by itself; what a party accepts is decided by the verifier of the platform it pins.
 * A platform whose device is missing must fail, never fall back to a simulated one.
 */
public interface AttestationPlatformProvider {

  /** The {@code --platform} value, e.g. {@code nitro}, {@code sev-snp}, {@code simulated}. */
  String name();

  /** The platform name the enclave reports in its attestation summary (default {@link #name()}). */
  default String label() {
    return name();
  }

  /**
   * Opens the platform's evidence source.
   *
   * @throws IllegalArgumentException naming what is missing (a device, a development key)
   */
  EvidenceSource open(Context context) throws IOException;

  /**
   * What an enclave process knows when it opens its platform.
   *
   * @param devRootCert development root certificate (simulated platforms), or null
   * @param devRootKey  its private key (simulated platforms), or null
   * @param moduleId    the enclave's module id (Nitro documents)
   * @param pcrs        the image's measurements (PCR0 = the image's SHA-384)
   * @param config      the launched configuration file's bytes (confidential-VM test doubles), or null
   * @param policy      the launched policy file's bytes, or null
   * @param err         where warnings (the simulated platforms' banners) go
   * @param devices     where the hardware interfaces are
   */
  record Context(Path devRootCert, Path devRootKey, String moduleId, Map<Integer, byte[]> pcrs, byte[] config,
                 byte[] policy, PrintStream err, AttestationPlatforms.Devices devices) {
  }
}

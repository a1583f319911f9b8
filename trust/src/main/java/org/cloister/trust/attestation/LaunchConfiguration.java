package org.cloister.trust.attestation;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.cloister.trust.attestation.snp.SnpEvidence;
import org.cloister.trust.attestation.tdx.TdxEvidence;

/**
 * Binds an enclave's configuration and policy files to an SEV-SNP or TDX launch, where Nitro has PCR1 and PCR2.
 * The launch measurement covers the boot chain, not files the host hands the enclave, so the host sets at launch
 * a value the hardware signs into every report, and the enclave refuses to start unless it equals the digest of
 * the files it loaded; parties pin that value beside the launch measurement:
 *
 * <pre>
 *   SEV-SNP host_data    (32 bytes) = SHA-256("cloister/v1 launch-config\0" || u32be(len) || config || u32be(len) || policy)
 *   TDX     mr_config_id (48 bytes) = SHA-384(same input)
 * </pre>
 */
public final class LaunchConfiguration {
  /** Domain separation tag hashed first. */
  public static final String DOMAIN = "cloister/v1 launch-config\0";

  private LaunchConfiguration() {
  }

  /** The measurement name carrying the value: {@code host_data} (SEV-SNP) or {@code mr_config_id} (TDX). */
  public static String measurementName(TeePlatform platform) {
    if (platform.equals(TeePlatform.SEV_SNP)) {
      return "host_data";
    } else if (platform.equals(TeePlatform.TDX)) {
      return "mr_config_id";
    }
    throw unsupported(platform);
  }

  /** The value the host must launch the VM with for these exact configuration and policy bytes. */
  public static byte[] digest(TeePlatform platform, byte[] config, byte[] policy) {
    String algorithm = measurementName(platform).equals("host_data") ? "SHA-256" : "SHA-384";
    try {
      MessageDigest md = MessageDigest.getInstance(algorithm);
      md.update(DOMAIN.getBytes(StandardCharsets.US_ASCII));
      for (byte[] part : new byte[][] {config, policy}) {
        md.update(ByteBuffer.allocate(4).putInt(part.length).array());
        md.update(part);
      }
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The launch value in {@code evidence} (read only: for an enclave checking its own fresh report; a verifier
   * verifies the evidence and pins the value instead).
   */
  public static byte[] inEvidence(TeePlatform platform, byte[] evidence) throws AttestationException {
    if (platform.equals(TeePlatform.SEV_SNP)) {
      return SnpEvidence.hostData(evidence);
    } else if (platform.equals(TeePlatform.TDX)) {
      return TdxEvidence.mrConfigId(evidence);
    }
    throw unsupported(platform);
  }

  private static IllegalArgumentException unsupported(TeePlatform platform) {
    return new IllegalArgumentException(platform.equals(TeePlatform.NITRO)
        ? "Nitro measures the configuration and policy in PCR1 and PCR2"
        : "no launch-configuration measurement is defined for platform " + platform.id());
  }
}

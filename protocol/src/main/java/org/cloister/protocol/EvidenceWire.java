package org.cloister.protocol;

import com.google.protobuf.ByteString;
import org.cloister.protocol.v1.Evidence;

/**
 * The attestation wire form, version 2 ({@code Evidence} in attestation.proto): platform + evidence bytes +
 * collateral. Version 1 (a bare Nitro document) is refused with a message that names the upgrade.
 */
public final class EvidenceWire {
  /** The wire version this code speaks. */
  public static final int VERSION = 2;

  private EvidenceWire() {}

  /** A v2 envelope around a Nitro attestation document. */
  public static Evidence nitro(byte[] document) {
    return Evidence.newBuilder().setVersion(VERSION).setPlatform("nitro")
        .setEvidence(ByteString.copyFrom(document)).build();
  }

  /** A v2 envelope around a raw SEV-SNP report or TDX quote and the key and user data its report data binds. */
  public static Evidence confidentialVm(String platform, byte[] report, java.util.List<byte[]> collateral,
      byte[] hpkePublicKey, byte[] userData) {
    if (!"sev-snp".equals(platform) && !"tdx".equals(platform)) {
      throw new IllegalArgumentException("a confidential-VM platform is sev-snp or tdx, not '" + platform + "'");
    }
    Evidence.Builder b = Evidence.newBuilder().setVersion(VERSION).setPlatform(platform)
        .setEvidence(ByteString.copyFrom(report)).setPublicKey(ByteString.copyFrom(hpkePublicKey))
        .setUserData(ByteString.copyFrom(userData == null ? new byte[0] : userData));
    collateral.forEach(c -> b.addCollateral(ByteString.copyFrom(c)));
    return b.build();
  }

  /** Evidence as received, checked for form only (nothing is verified here). */
  public record Received(String platform, byte[] evidence, java.util.List<byte[]> collateral, byte[] hpkePublicKey,
      byte[] userData) {
  }

  /**
   * The evidence inside a v2 envelope, of any platform; for sev-snp and tdx the public key beside it must be
   * present (the user data may be empty).
   *
   * @throws IllegalArgumentException naming what is wrong: v1 form, another version, no platform, empty
   */
  public static Received received(Evidence evidence, boolean legacyFormSent, String from) {
    checkEnvelope(evidence, legacyFormSent, from);
    String platform = evidence.getPlatform();
    // form only: whether the platform is installed (built-in or a verifier plug-in) is the receiving party's
    // registry's to say (EvidenceVerifiers.fromId), which refuses an unknown one naming the installed ones
    if (!platform.matches("[a-z][a-z0-9-]{0,31}")) {
      throw new IllegalArgumentException(from + " sent " + (platform.isEmpty() ? "evidence without a platform"
          : "evidence of a malformed platform id '" + platform + "'") + " (nitro, sev-snp, tdx or a verifier "
          + "plug-in's: lower-case letters, digits and dashes)");
    }
    if (evidence.getEvidence().isEmpty()) {
      throw new IllegalArgumentException(from + " sent empty " + platform + " evidence");
    }
    if (!platform.equals("nitro") && evidence.getPublicKey().isEmpty()) {
      throw new IllegalArgumentException(from + " sent " + platform + " evidence without the public key its "
          + "report data binds");
    }
    return new Received(platform, evidence.getEvidence().toByteArray(),
        evidence.getCollateralList().stream().map(ByteString::toByteArray).toList(),
        evidence.getPublicKey().toByteArray(), evidence.getUserData().toByteArray());
  }

  private static void checkEnvelope(Evidence evidence, boolean legacyFormSent, String from) {
    if (evidence == null) {
      throw new IllegalArgumentException(legacyFormSent
          ? from + " sent attestation wire form v1 (a bare Nitro document), which is no longer accepted: "
              + "upgrade it to send Evidence v" + VERSION
          : from + " sent no attestation evidence");
    }
    if (evidence.getVersion() != VERSION) {
      throw new IllegalArgumentException(from + " sent attestation evidence version " + evidence.getVersion()
          + "; this verifier speaks version " + VERSION);
    }
  }

  /**
   * The Nitro document inside {@code evidence}, for a party that pins Nitro measurements (or one not yet wired
   * for confidential VMs: the consortium host in this release).
   *
   * @param evidence the v2 envelope, or null when the peer sent none
   * @param legacyFormSent whether the peer filled the v1 field instead
   * @param from who sent it, for the message ("the secure aggregator enclave")
   * @throws IllegalArgumentException naming what is wrong: v1 form, another version, another platform, empty
   */
  public static byte[] nitroDocument(Evidence evidence, boolean legacyFormSent, String from) {
    checkEnvelope(evidence, legacyFormSent, from);
    if (!"nitro".equals(evidence.getPlatform())) {
      throw new IllegalArgumentException(from + " sent " + (evidence.getPlatform().isEmpty() ? "evidence without a platform"
          : "'" + evidence.getPlatform() + "' evidence") + ": only nitro evidence (simulated or real) is bound to the "
          + "enclave's keys at this party, which pins Nitro PCRs (sites, the key broker, inference clients and "
          + "receipt verifiers accept sev-snp and tdx when they pin those measurements; the consortium host does not yet)");
    }
    if (evidence.getEvidence().isEmpty()) {
      throw new IllegalArgumentException(from + " sent empty nitro evidence");
    }
    return evidence.getEvidence().toByteArray();
  }
}

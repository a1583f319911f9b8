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

  /**
   * The Nitro document inside {@code evidence}, the only platform whose evidence binds the enclave's HPKE key and
   * the verifier's nonce today.
   *
   * @param evidence the v2 envelope, or null when the peer sent none
   * @param legacyFormSent whether the peer filled the v1 field instead
   * @param from who sent it, for the message ("the secure aggregator enclave")
   * @throws IllegalArgumentException naming what is wrong: v1 form, another version, another platform, empty
   */
  public static byte[] nitroDocument(Evidence evidence, boolean legacyFormSent, String from) {
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
    if (!"nitro".equals(evidence.getPlatform())) {
      throw new IllegalArgumentException(from + " sent " + (evidence.getPlatform().isEmpty() ? "evidence without a platform"
          : "'" + evidence.getPlatform() + "' evidence") + ": only nitro evidence (simulated or real) is bound to the "
          + "enclave's keys in this release (sev-snp and tdx are verified by 'cloister attest verify' only)");
    }
    if (evidence.getEvidence().isEmpty()) {
      throw new IllegalArgumentException(from + " sent empty nitro evidence");
    }
    return evidence.getEvidence().toByteArray();
  }
}

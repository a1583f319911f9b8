package org.cloister.trust.attestation.snp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.FailureReason;

/**
 * An SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI specification, versions 2, 3 and 5), 1184 bytes, little-endian.
 * Only parsing and field access; {@link SnpVerifier} decides what is acceptable.
 */
final class SnpReport {
  static final int SIZE = 1184;
  static final int SIGNED_LENGTH = 0x2A0;
  static final int SIGNATURE_COMPONENT = 72;
  static final long POLICY_SMT = 1L << 16;
  static final long POLICY_MIGRATE_MA = 1L << 18;
  static final long POLICY_DEBUG = 1L << 19;
  static final int SIGNING_KEY_VCEK = 0;
  static final int SIGNING_KEY_VLEK = 1;

  private final byte[] raw;
  private final ByteBuffer le;

  private SnpReport(byte[] raw) {
    this.raw = raw;
    this.le = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
  }

  static SnpReport parse(byte[] bytes) throws AttestationException {
    if (bytes.length != SIZE) {
      throw new AttestationException(FailureReason.MALFORMED,
          "an SEV-SNP attestation report is " + SIZE + " bytes, got " + bytes.length);
    }
    SnpReport r = new SnpReport(bytes.clone());
    int version = r.version();
    if (version < 2 || version > 5) {
      throw new AttestationException(FailureReason.MALFORMED,
          "SEV-SNP report version " + version + " is not supported (2, 3 or 5)");
    }
    if (r.signatureAlgorithm() != 1) {
      throw new AttestationException(FailureReason.MALFORMED,
          "SEV-SNP signature algorithm " + r.signatureAlgorithm() + " is not ECDSA P-384 with SHA-384 (1)");
    }
    if ((r.policy() & (1L << 17)) == 0) {
      throw new AttestationException(FailureReason.MALFORMED, "SEV-SNP guest policy bit 17 (reserved, must be one) is 0");
    }
    int key = r.signingKey();
    if (key != SIGNING_KEY_VCEK && key != SIGNING_KEY_VLEK) {
      throw new AttestationException(FailureReason.MALFORMED,
          "SEV-SNP report is signed by neither a VCEK nor a VLEK (SIGNING_KEY " + key + ")");
    }
    return r;
  }

  int version() {
    return le.getInt(0x00);
  }

  long policy() {
    return le.getLong(0x08);
  }

  int vmpl() {
    return le.getInt(0x30);
  }

  int signatureAlgorithm() {
    return le.getInt(0x34);
  }

  /** Bits 4:2 of the flags word: 0 VCEK, 1 VLEK, 7 none. */
  int signingKey() {
    return (le.getInt(0x48) >>> 2) & 0x7;
  }

  boolean chipIdMasked() {
    return (le.getInt(0x48) & 0x2) != 0;
  }

  byte[] reportData() {
    return Arrays.copyOfRange(raw, 0x50, 0x90);
  }

  byte[] measurement() {
    return Arrays.copyOfRange(raw, 0x90, 0xC0);
  }

  byte[] hostData() {
    return Arrays.copyOfRange(raw, 0xC0, 0xE0);
  }

  long reportedTcb() {
    return le.getLong(0x180);
  }

  /** CPUID family (base + extended) and model, present from version 3; -1 before. */
  int cpuidFamily() {
    return version() >= 3 ? raw[0x188] & 0xff : -1;
  }

  int cpuidModel() {
    return version() >= 3 ? raw[0x189] & 0xff : -1;
  }

  byte[] chipId() {
    return Arrays.copyOfRange(raw, 0x1A0, 0x1E0);
  }

  byte[] signedBytes() {
    return Arrays.copyOfRange(raw, 0, SIGNED_LENGTH);
  }

  /** r and s as unsigned big-endian, from AMD's little-endian 72-byte zero-padded fields. */
  byte[] signatureR() {
    return reversed(Arrays.copyOfRange(raw, SIGNED_LENGTH, SIGNED_LENGTH + SIGNATURE_COMPONENT));
  }

  byte[] signatureS() {
    return reversed(Arrays.copyOfRange(raw, SIGNED_LENGTH + SIGNATURE_COMPONENT,
        SIGNED_LENGTH + 2 * SIGNATURE_COMPONENT));
  }

  private static byte[] reversed(byte[] b) {
    for (int i = 0, j = b.length - 1; i < j; i++, j--) {
      byte t = b[i];
      b[i] = b[j];
      b[j] = t;
    }
    return b;
  }

  /** A TCB_VERSION split into its security patch levels, per product layout. */
  record Tcb(int bootloader, int tee, int snp, int microcode, int fmc) {
    static Tcb decode(long v, boolean turin) {
      int[] b = new int[8];
      for (int i = 0; i < 8; i++) {
        b[i] = (int) ((v >>> (8 * i)) & 0xff);
      }
      return turin ? new Tcb(b[1], b[2], b[3], b[7], b[0]) : new Tcb(b[0], b[1], b[6], b[7], -1);
    }
  }
}

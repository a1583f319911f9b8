package org.cloister.trust.attestation;

import java.util.Locale;

/** The kinds of trusted execution environment whose evidence Cloister verifies. */
public enum TeePlatform {
  /** AWS Nitro Enclaves: a COSE_Sign1 attestation document signed under the AWS Nitro root. */
  NITRO("nitro"),
  /** AMD SEV-SNP confidential VMs: a 1184-byte attestation report signed by a VCEK or VLEK under an AMD ARK. */
  SEV_SNP("sev-snp"),
  /** Intel TDX trust domains: a DCAP quote (v4 or v5) certified by a PCK under the Intel SGX Root CA. */
  TDX("tdx");

  private final String id;

  TeePlatform(String id) {
    this.id = id;
  }

  /** The platform's name on the command line and in kits: {@code nitro}, {@code sev-snp}, {@code tdx}. */
  public String id() {
    return id;
  }

  /** Parses {@link #id()}; the error names the accepted values. */
  public static TeePlatform fromId(String id) {
    String wanted = id == null ? "" : id.trim().toLowerCase(Locale.ROOT);
    for (TeePlatform p : values()) {
      if (p.id.equals(wanted)) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown platform '" + id + "' (expected nitro, sev-snp or tdx)");
  }

  /**
   * Recognises the evidence format by content: a DCAP TDX quote (version 4 or 5, ECDSA-256 attestation key,
   * TEE type 0x81), an SEV-SNP report (1184 bytes, version 2..5, ECDSA P-384 signature algorithm), otherwise Nitro.
   */
  public static TeePlatform detect(byte[] evidence) {
    if (evidence.length >= 48) {
      int version = u16(evidence, 0);
      int keyType = u16(evidence, 2);
      long teeType = u16(evidence, 4) | ((long) u16(evidence, 6) << 16);
      if ((version == 4 || version == 5) && keyType == 2 && teeType == 0x81) {
        return TDX;
      }
    }
    if (evidence.length == 1184) {
      int version = u16(evidence, 0) | (u16(evidence, 2) << 16);
      int algo = u16(evidence, 0x34) | (u16(evidence, 0x36) << 16);
      if (version >= 2 && version <= 5 && algo == 1) {
        return SEV_SNP;
      }
    }
    return NITRO;
  }

  private static int u16(byte[] b, int off) {
    return (b[off] & 0xff) | ((b[off + 1] & 0xff) << 8);
  }
}

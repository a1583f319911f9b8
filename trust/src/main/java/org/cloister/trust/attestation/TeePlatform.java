package org.cloister.trust.attestation;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A kind of trusted execution environment whose evidence Cloister verifies: a registered id, the built-in
 * {@link #NITRO}, {@link #SEV_SNP} and {@link #TDX} or a verifier plug-in's ({@link EvidenceVerifierProvider}). Equal by id.
 * It names a platform and refers to no verifier (enclave images carry it without the verifiers: docs/trust.md); the
 * registry of installed verifiers is {@link EvidenceVerifiers}, on the verifying (host) side.
 */
public final class TeePlatform {
  /** AWS Nitro Enclaves: a COSE_Sign1 attestation document signed under the AWS Nitro root. */
  public static final TeePlatform NITRO = new TeePlatform("nitro");
  /** AMD SEV-SNP confidential VMs: a 1184-byte attestation report signed by a VCEK or VLEK under an AMD ARK. */
  public static final TeePlatform SEV_SNP = new TeePlatform("sev-snp");
  /** Intel TDX trust domains: a DCAP quote (v4 or v5) certified by a PCK under the Intel SGX Root CA. */
  public static final TeePlatform TDX = new TeePlatform("tdx");

  private static final List<TeePlatform> BUILT_IN = List.of(NITRO, SEV_SNP, TDX);
  private static final Pattern ID = Pattern.compile("[a-z][a-z0-9-]{0,31}");

  private final String id;

  private TeePlatform(String id) {
    this.id = id;
  }

  /**
   * The platform with this id, for a verifier plug-in's {@link EvidenceVerifierProvider#platform()}: a built-in
   * id gives the built-in platform (which only its built-in verifier may claim, {@link EvidenceVerifiers}).
   *
   * @throws IllegalArgumentException unless the id is lower-case letters, digits and dashes (at most 32)
   */
  public static TeePlatform named(String id) {
    for (TeePlatform p : BUILT_IN) {
      if (p.id.equals(id)) {
        return p;
      }
    }
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException("a platform id is lower-case letters, digits and dashes, not '" + id + "'");
    }
    return new TeePlatform(id);
  }

  /** The built-in platforms: {@code nitro}, {@code sev-snp}, {@code tdx}. */
  public static List<TeePlatform> builtIns() {
    return BUILT_IN;
  }

  /** Whether this is one of {@link #builtIns()}. */
  public boolean builtIn() {
    return BUILT_IN.contains(this);
  }

  /** The platform's name on the command line and in kits: {@code nitro}, {@code sev-snp}, {@code tdx}, a plug-in's. */
  public String id() {
    return id;
  }

  /**
   * The built-in platform with this id (case and surrounding blanks ignored), if it is one: no registry is consulted,
   * so an enclave naming its own platform carries no verifier. A verifying party parses ids with
   * {@link EvidenceVerifiers#fromId(String)}, which also knows its installed plug-ins.
   */
  public static java.util.Optional<TeePlatform> builtIn(String id) {
    String wanted = id == null ? "" : id.trim().toLowerCase(Locale.ROOT);
    return BUILT_IN.stream().filter(p -> p.id.equals(wanted)).findFirst();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TeePlatform p && p.id.equals(id);
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  @Override
  public String toString() {
    return id;
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

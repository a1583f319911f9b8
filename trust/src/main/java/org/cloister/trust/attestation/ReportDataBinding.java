package org.cloister.trust.attestation;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.Objects;

/**
 * What an enclave on SEV-SNP or TDX puts in the 64 bytes of report data it asks the platform to sign: the
 * report data is too small for the keys themselves, so it commits to them. It is SHA-512 over
 *
 * <pre>
 *   "cloister/v1 report-data\0"
 *   || u32be(len nonce)   || nonce            (the verifier's fresh nonce)
 *   || u32be(len hpke)    || hpke public key  (raw X25519, 32 bytes)
 *   || u32be(len ud)      || user data        (as a Nitro document's user_data: the secure aggregator's
 *                                             signing key, {@link EnclaveSignatures#userData}; the
 *                                             inference enclave's served model)
 * </pre>
 *
 * The domain tag keeps the digest from meaning anything else; the length prefixes make the encoding
 * unambiguous (no split of the same bytes into another nonce and keys). The enclave sends the public key and
 * the user data beside the evidence; a verifier recomputes this digest from its own nonce and what it received
 * and requires it to equal the signed report data, so both are as attested as the measurements.
 */
public final class ReportDataBinding {
  /** Domain separation tag hashed first. */
  public static final String DOMAIN = "cloister/v1 report-data\0";
  /** Report data size on SEV-SNP and TDX. */
  public static final int SIZE = 64;
  private static final int MAX_NONCE = 512;

  private ReportDataBinding() {
  }

  /** The 64 bytes of report data binding {@code nonce}, the HPKE key and the enclave signing key. */
  public static byte[] reportData(byte[] nonce, byte[] hpkePublicKey, PublicKey signingKey) {
    return reportData(nonce, hpkePublicKey, EnclaveSignatures.userData(Objects.requireNonNull(signingKey, "signingKey")));
  }

  /**
   * The 64 bytes of report data binding {@code nonce}, the HPKE key and {@code userData} (null or empty when
   * the enclave binds none, as when it asks the key broker for a key: then the length prefix is 0).
   */
  public static byte[] reportData(byte[] nonce, byte[] hpkePublicKey, byte[] userData) {
    userData = userData == null ? new byte[0] : userData;
    require(nonce, "nonce");
    if (nonce.length > MAX_NONCE) {
      throw new IllegalArgumentException("nonce is " + nonce.length + " bytes, more than " + MAX_NONCE);
    }
    require(hpkePublicKey, "HPKE public key");
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-512");
      md.update(DOMAIN.getBytes(StandardCharsets.US_ASCII));
      for (byte[] part : new byte[][] {nonce, hpkePublicKey, userData}) {
        md.update(ByteBuffer.allocate(4).putInt(part.length).array());
        md.update(part);
      }
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-512 is not available", e);
    }
  }

  private static void require(byte[] b, String what) {
    if (b == null || b.length == 0) {
      throw new IllegalArgumentException(what + " must not be empty");
    }
  }
}

package org.cloister.trust.attestation;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The enclave's attested signing key: an ECDSA P-256 key pair the enclave generates at start (the
 * private key never leaves it), whose public key the attestation document binds in {@code user_data}
 * as {@value #USER_DATA_TAG} followed by the key's X.509 SubjectPublicKeyInfo (DER). A verifier takes
 * the key only from a {@link VerifiedAttestation} (signature, chain, PCRs and its own nonce checked),
 * so a signature that verifies under it was made by code with the attested measurements, in the
 * enclave instance that produced the document.
 *
 * <p>Signatures are SHA256withECDSA (DER) over {@code "cloister/v1 enclave-signature\0" || purpose ||
 * "\0" || message}: the purpose (for example {@code round-challenge} or {@code receipt}) separates
 * domains, so a signature made for one kind of message never verifies as another.
 */
public final class EnclaveSignatures {
  /** The bytes user_data starts with when it binds the enclave's signing key. */
  public static final String USER_DATA_TAG = "cloister-enclave-signing-key/v1:";
  public static final String ALGORITHM = "SHA256withECDSA";
  private static final byte[] TAG = USER_DATA_TAG.getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DOMAIN = "cloister/v1 enclave-signature\0".getBytes(StandardCharsets.US_ASCII);
  private static final Pattern PURPOSE = Pattern.compile("[a-z0-9][a-z0-9.-]{0,63}");

  private EnclaveSignatures() {
  }

  /** The user_data an enclave puts in its attestation documents to bind {@code signingKey}. */
  public static byte[] userData(PublicKey signingKey) {
    requireP256(signingKey);
    byte[] spki = signingKey.getEncoded();
    byte[] out = Arrays.copyOf(TAG, TAG.length + spki.length);
    System.arraycopy(spki, 0, out, TAG.length, spki.length);
    return out;
  }

  /**
   * The enclave signing key bound by a verified document.
   *
   * @throws AttestationException {@link FailureReason#NO_SIGNING_KEY} when the document binds none
   */
  public static PublicKey signingKey(VerifiedAttestation attestation) throws AttestationException {
    byte[] ud = attestation.userData().orElseThrow(() -> new AttestationException(FailureReason.NO_SIGNING_KEY,
        "the attestation document has no user_data, so it binds no enclave signing key"));
    return signingKey(ud);
  }

  /**
   * The enclave signing key in attested user data ({@link #userData}): a Nitro document's {@code user_data}, or
   * the user data an SEV-SNP/TDX report binds through {@link ReportDataBinding}.
   *
   * @throws AttestationException {@link FailureReason#NO_SIGNING_KEY} when it binds none
   */
  public static PublicKey signingKey(byte[] ud) throws AttestationException {
    if (ud == null || ud.length <= TAG.length || !Arrays.equals(ud, 0, TAG.length, TAG, 0, TAG.length)) {
      throw new AttestationException(FailureReason.NO_SIGNING_KEY,
          "the attested user_data does not start with '" + USER_DATA_TAG + "'");
    }
    try {
      PublicKey key = KeyFactory.getInstance("EC")
          .generatePublic(new X509EncodedKeySpec(Arrays.copyOfRange(ud, TAG.length, ud.length)));
      requireP256(key);
      return key;
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new AttestationException(FailureReason.NO_SIGNING_KEY,
          "the enclave signing key in user_data is not an EC P-256 public key: " + e.getMessage(), e);
    }
  }

  /**
   * Signs for the enclave (used by the enclave's signer; the key must be P-256). A P-256 key signs with
   * BouncyCastle's P-256 arithmetic and RFC 6979 nonces ({@link org.cloister.trust.ledger.P256Ecdsa}, several
   * times faster than SunEC; the same SHA256withECDSA signatures over the same bytes).
   */
  public static byte[] sign(PrivateKey key, String purpose, byte[] message) {
    if (org.cloister.trust.ledger.P256Ecdsa.isP256(key)) {
      byte[] p = purposeBytes(purpose);
      byte[] signed = new byte[DOMAIN.length + p.length + message.length];
      System.arraycopy(DOMAIN, 0, signed, 0, DOMAIN.length);
      System.arraycopy(p, 0, signed, DOMAIN.length, p.length);
      System.arraycopy(message, 0, signed, DOMAIN.length + p.length, message.length);
      return org.cloister.trust.ledger.P256Ecdsa.sign(signed, key);
    }
    try {
      Signature s = Signature.getInstance(ALGORITHM);
      s.initSign(key);
      s.update(DOMAIN);
      s.update(purposeBytes(purpose));
      s.update(message);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign with the enclave key: " + e.getMessage(), e);
    }
  }

  /** True when {@code signature} is the enclave's signature, for {@code purpose}, over {@code message}. */
  public static boolean verify(PublicKey signingKey, String purpose, byte[] message, byte[] signature) {
    Objects.requireNonNull(message, "message");
    if (signature == null || signature.length == 0) {
      return false;
    }
    try {
      // SHA256withECDSA (ALGORITHM) over DOMAIN || purpose || message; a non-P-256 key does not verify
      return org.cloister.trust.pki.EcdsaVerification.verify(signingKey, signature, DOMAIN, purposeBytes(purpose), message)
          && signingKey instanceof java.security.interfaces.ECPublicKey ec && ec.getParams().getOrder().bitLength() == 256;
    } catch (RuntimeException e) {
      return false; // a malformed purpose, signature or key is a signature that does not verify
    }
  }

  /**
   * True when {@code signature} verifies under the signing key the verified document binds.
   *
   * @throws AttestationException when the document binds no signing key
   */
  public static boolean verify(VerifiedAttestation attestation, String purpose, byte[] message, byte[] signature)
      throws AttestationException {
    return verify(signingKey(attestation), purpose, message, signature);
  }

  private static byte[] purposeBytes(String purpose) {
    if (purpose == null || !PURPOSE.matcher(purpose).matches()) {
      throw new IllegalArgumentException("signature purpose must match " + PURPOSE + ", got '" + purpose + "'");
    }
    return (purpose + "\0").getBytes(StandardCharsets.US_ASCII);
  }

  private static void requireP256(PublicKey key) {
    if (!(key instanceof ECPublicKey ec) || ec.getParams().getCurve().getField().getFieldSize() != 256) {
      throw new IllegalArgumentException("the enclave signing key must be EC P-256, got " + key.getAlgorithm());
    }
  }
}

package org.cloister.trust.attestation.nitro;

import java.io.ByteArrayInputStream;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.SignatureException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXReason;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.AttestationVerifier;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.pki.CertificatePaths;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies AWS Nitro Enclaves attestation documents: COSE_Sign1 (ES384) over the CBOR payload, the
 * certificate chain (leaf, then {@code cabundle} from the zonal end up to the root) to a pinned trust
 * root at the policy's instant, and the policy (debug mode, expected PCRs, nonce).
 *
 * <p>Checks run in this order and the first failure is reported: structure and field limits
 * (MALFORMED), the chain's anchor (UNTRUSTED_ROOT), chain validity (EXPIRED, NOT_YET_VALID,
 * BAD_SIGNATURE), the document signature (BAD_SIGNATURE), debug mode (DEBUG_ENCLAVE), PCRs
 * (PCR_MISMATCH), nonce (NONCE_MISMATCH).
 */
public final class NitroAttestationVerifier implements AttestationVerifier {
  private static final Logger log = LoggerFactory.getLogger(NitroAttestationVerifier.class);
  private static final HexFormat HEX = HexFormat.of();

  private final X509Certificate trustRoot;
  private final NitroCodec codec = new NitroCodec();

  /** A verifier trusting only {@code trustRoot} (the AWS root in production, a development root otherwise). */
  public NitroAttestationVerifier(X509Certificate trustRoot) {
    this.trustRoot = Objects.requireNonNull(trustRoot, "trustRoot");
  }

  /** A verifier trusting the pinned AWS Nitro Enclaves Root G1. */
  public static NitroAttestationVerifier withAwsRoot() {
    return new NitroAttestationVerifier(AwsNitroRoot.certificate());
  }

  public X509Certificate trustRoot() {
    return trustRoot;
  }

  @Override
  public VerifiedAttestation verify(byte[] evidence, VerificationPolicy policy) throws AttestationException {
    Objects.requireNonNull(policy, "policy");
    try {
      VerifiedAttestation result = verifyOrThrow(evidence, policy);
      log.debug("attestation verified: module_id={} debug={}", result.moduleId(), result.debug());
      return result;
    } catch (AttestationException e) {
      log.debug("attestation refused: {} {}", e.reason(), e.getMessage());
      throw e;
    }
  }

  private VerifiedAttestation verifyOrThrow(byte[] evidence, VerificationPolicy policy) throws AttestationException {
    NitroDocument doc = codec.parse(evidence);
    X509Certificate leaf = certificate(doc.certificate(), "certificate");
    List<X509Certificate> bundle = new ArrayList<>();
    for (int i = 0; i < doc.cabundle().size(); i++) {
      bundle.add(certificate(doc.cabundle().get(i), "cabundle[" + i + "]"));
    }
    checkChain(leaf, bundle, policy.instant());
    checkSignature(doc, leaf);

    boolean debug = isDebug(doc);
    if (debug && !policy.allowDebug()) {
      throw new AttestationException(FailureReason.DEBUG_ENCLAVE,
          "document comes from a debug-mode enclave (PCR0, PCR1 and PCR2 are all zero); debug enclaves are not allowed");
    }
    for (Map.Entry<Integer, byte[]> expected : policy.expectedPcrs().entrySet()) {
      byte[] actual = doc.pcrs().get(expected.getKey());
      if (actual == null) {
        throw new AttestationException(FailureReason.PCR_MISMATCH,
            "PCR" + expected.getKey() + " is absent from the document but the policy expects "
                + HEX.formatHex(expected.getValue()));
      }
      if (!MessageDigest.isEqual(actual, expected.getValue())) {
        throw new AttestationException(FailureReason.PCR_MISMATCH, "PCR" + expected.getKey() + " is "
            + HEX.formatHex(actual) + " but the policy expects " + HEX.formatHex(expected.getValue()));
      }
    }
    Optional<byte[]> expectedNonce = policy.expectedNonce();
    if (expectedNonce.isPresent()) {
      if (doc.nonce() == null) {
        throw new AttestationException(FailureReason.NONCE_MISMATCH, "document carries no nonce but one is expected");
      }
      if (!MessageDigest.isEqual(doc.nonce(), expectedNonce.get())) {
        throw new AttestationException(FailureReason.NONCE_MISMATCH,
            "document nonce differs from the expected nonce (stale or replayed document)");
      }
    }
    TreeMap<Integer, String> pcrs = new TreeMap<>();
    doc.pcrs().forEach((k, v) -> pcrs.put(k, HEX.formatHex(v)));
    return new VerifiedAttestation(doc.moduleId(), Instant.ofEpochMilli(doc.timestampMillis()), doc.digest(), pcrs,
        Optional.ofNullable(doc.publicKey()), Optional.ofNullable(doc.userData()), Optional.ofNullable(doc.nonce()),
        leaf, debug);
  }

  private void checkChain(X509Certificate leaf, List<X509Certificate> bundle, Instant at)
      throws AttestationException {
    // cabundle is ordered root first; the path for PKIX is leaf first, ending with the certificate the root issued.
    List<X509Certificate> path = new ArrayList<>();
    path.add(leaf);
    int first = !bundle.isEmpty() && bundle.get(0).equals(trustRoot) ? 1 : 0;
    for (int i = bundle.size() - 1; i >= first; i--) {
      path.add(bundle.get(i));
    }
    X509Certificate top = path.get(path.size() - 1);
    if (!top.getIssuerX500Principal().equals(trustRoot.getSubjectX500Principal())) {
      throw new AttestationException(FailureReason.UNTRUSTED_ROOT, "certificate chain does not lead to the trust root "
          + trustRoot.getSubjectX500Principal().getName() + ": top certificate "
          + top.getSubjectX500Principal().getName() + " is issued by " + top.getIssuerX500Principal().getName());
    }
    if (!signedByRoot(top)) {
      throw new AttestationException(FailureReason.BAD_SIGNATURE, "certificate "
          + top.getSubjectX500Principal().getName() + " names the trust root as issuer but its signature does not "
          + "verify with the trust root's key (altered or forged)");
    }
    try {
      CertificatePaths.validate(path, trustRoot, at);
    } catch (CertPathValidatorException e) {
      throw mapPathFailure(e, path, at);
    }
    checkValidity(trustRoot, "trust root", at);
  }

  private boolean signedByRoot(X509Certificate top) {
    try {
      top.verify(trustRoot.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static AttestationException mapPathFailure(CertPathValidatorException e, List<X509Certificate> path,
      Instant at) {
    int index = e.getIndex();
    String which = index >= 0 && index < path.size()
        ? describe(path.get(index), index) : "a certificate of the chain";
    CertPathValidatorException.Reason reason = e.getReason();
    if (reason == CertPathValidatorException.BasicReason.EXPIRED) {
      return new AttestationException(FailureReason.EXPIRED, which + " expired at "
          + notAfter(path, index) + "; verification instant " + at, e);
    }
    if (reason == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
      return new AttestationException(FailureReason.NOT_YET_VALID, which + " is valid only from "
          + notBefore(path, index) + "; verification instant " + at, e);
    }
    if (reason == CertPathValidatorException.BasicReason.INVALID_SIGNATURE) {
      return new AttestationException(FailureReason.BAD_SIGNATURE,
          "signature of " + which + " does not verify", e);
    }
    if (reason == PKIXReason.NO_TRUST_ANCHOR) {
      return new AttestationException(FailureReason.UNTRUSTED_ROOT,
          "certificate chain does not lead to the trust root: " + e.getMessage(), e);
    }
    return new AttestationException(FailureReason.UNTRUSTED_ROOT,
        "certificate chain is not valid under the trust root (" + reason + " at " + which + "): " + e.getMessage(), e);
  }

  private static void checkValidity(X509Certificate cert, String what, Instant at) throws AttestationException {
    try {
      cert.checkValidity(Date.from(at));
    } catch (CertificateExpiredException e) {
      throw new AttestationException(FailureReason.EXPIRED,
          what + " expired at " + cert.getNotAfter().toInstant() + "; verification instant " + at, e);
    } catch (CertificateNotYetValidException e) {
      throw new AttestationException(FailureReason.NOT_YET_VALID,
          what + " is valid only from " + cert.getNotBefore().toInstant() + "; verification instant " + at, e);
    }
  }

  private void checkSignature(NitroDocument doc, X509Certificate leaf) throws AttestationException {
    if (!(leaf.getPublicKey() instanceof ECPublicKey key)
        || key.getParams().getCurve().getField().getFieldSize() != 384) {
      throw new AttestationException(FailureReason.MALFORMED,
          "leaf certificate key must be ECDSA P-384 for ES384, found " + leaf.getPublicKey().getAlgorithm());
    }
    boolean valid;
    try {
      // COSE carries ES384 signatures as raw r||s (IEEE P1363), not DER.
      Signature verifier = Signature.getInstance("SHA384withECDSAinP1363Format");
      verifier.initVerify(key);
      verifier.update(codec.sigStructure(doc.protectedHeader(), doc.payload()));
      valid = verifier.verify(doc.signature());
    } catch (SignatureException e) {
      valid = false;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("ECDSA P-384 verification unavailable", e);
    }
    if (!valid) {
      throw new AttestationException(FailureReason.BAD_SIGNATURE,
          "COSE_Sign1 signature does not verify with the leaf certificate's key (document altered or forged)");
    }
  }

  private static boolean isDebug(NitroDocument doc) {
    for (int i = 0; i <= 2; i++) {
      for (byte b : doc.pcrs().get(i)) {
        if (b != 0) {
          return false;
        }
      }
    }
    return true;
  }

  private static X509Certificate certificate(byte[] der, String field) throws AttestationException {
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException | RuntimeException e) {
      throw new AttestationException(FailureReason.MALFORMED, field + " is not a DER X.509 certificate", e);
    }
  }

  private static String describe(X509Certificate cert, int index) {
    return (index == 0 ? "leaf certificate " : "certificate ") + cert.getSubjectX500Principal().getName();
  }

  private static Object notAfter(List<X509Certificate> path, int index) {
    return index >= 0 && index < path.size() ? path.get(index).getNotAfter().toInstant() : "?";
  }

  private static Object notBefore(List<X509Certificate> path, int index) {
    return index >= 0 && index < path.size() ? path.get(index).getNotBefore().toInstant() : "?";
  }
}

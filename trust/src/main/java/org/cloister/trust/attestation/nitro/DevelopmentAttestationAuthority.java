package org.cloister.trust.attestation.nitro;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.cloister.trust.pki.Pem;

/**
 * Issues attestation documents in the AWS Nitro format on machines without Nitro hardware.
 *
 * <p>It owns a development root CA (EC P-384) and an intermediate, and a P-384 leaf per module valid
 * for three hours, used for the documents of up to {@link #LEAF_REUSE} and then replaced (as the NSM
 * signs an instance's documents with one infrastructure certificate for hours instead of one per
 * document; generating a leaf key and certificate took most of a document's cost, and an enclave
 * attests every receipt). Documents: untagged COSE_Sign1 with ES384, payload
 * with module_id, digest SHA384, timestamp in ms, pcrs, certificate, cabundle [root, intermediate],
 * public_key, user_data, nonce. {@link NitroAttestationVerifier} accepts these documents only when the
 * development root is explicitly its trust root.
 *
 * <p>It proves nothing about isolation: whoever holds the development root key can issue a document
 * with any PCRs. Use it for development and tests only.
 */
public final class DevelopmentAttestationAuthority {
  /** Validity of each document's leaf certificate (as on Nitro). */
  public static final Duration LEAF_VALIDITY = Duration.ofHours(3);
  /** Validity of a freshly generated development root. */
  public static final Duration ROOT_VALIDITY = Duration.ofDays(3650);
  /** Validity of the intermediate created each time the authority is generated or loaded. */
  public static final Duration INTERMEDIATE_VALIDITY = Duration.ofDays(30);

  private static final Duration BACKDATE = Duration.ofHours(1);
  private static final Duration LEAF_BACKDATE = Duration.ofSeconds(1);
  /**
   * How long one leaf signs documents before a new one is made: a document's leaf then always has at
   * least two of its three hours of validity left when the document is issued.
   */
  public static final Duration LEAF_REUSE = Duration.ofHours(1);

  private final CertificateAuthority root;
  private final CertificateAuthority intermediate;
  private final Clock clock;
  private final NitroCodec codec = new NitroCodec();
  /** The current leaf per module id, and from when it signs (guarded by {@code this}). */
  private final Map<String, Leaf> leaves = new java.util.HashMap<>();

  private record Leaf(IssuedCertificate certificate, Instant from) {
  }

  private DevelopmentAttestationAuthority(CertificateAuthority root, Clock clock) {
    this.root = root;
    this.clock = clock;
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Instant rootNotAfter = root.certificate().getNotAfter().toInstant();
    if (!now.isBefore(rootNotAfter)) {
      throw new IllegalStateException("development attestation root expired at " + rootNotAfter);
    }
    Instant notBefore = max(now.minus(BACKDATE), root.certificate().getNotBefore().toInstant());
    Instant notAfter = min(now.plus(INTERMEDIATE_VALIDITY), rootNotAfter);
    this.intermediate = root.issueIntermediate("Cloister development attestation intermediate", notBefore, notAfter);
  }

  /** Generates a new development root (valid ten years from the clock's now, backdated one hour). */
  public static DevelopmentAttestationAuthority generate(Clock clock, SecureRandom random) {
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    CertificateAuthority root = CertificateAuthority.createRoot("Cloister development attestation root",
        EcCurve.P384, now.minus(BACKDATE), now.plus(ROOT_VALIDITY), random);
    return new DevelopmentAttestationAuthority(root, clock);
  }

  /** Loads a development root saved with {@link #save(Path, Path)}. */
  public static DevelopmentAttestationAuthority load(Path rootCertificatePem, Path rootPrivateKeyPem, Clock clock,
      SecureRandom random) throws IOException {
    CertificateAuthority root = CertificateAuthority.readPem(rootCertificatePem, rootPrivateKeyPem, random);
    if (root.curve() != EcCurve.P384 || root.chain().size() != 1) {
      throw new IOException(rootCertificatePem + ": development attestation root must be a self-signed P-384 CA");
    }
    return new DevelopmentAttestationAuthority(root, clock);
  }

  /**
   * Saves the root certificate (PEM, public: give it to verifiers as their trust root) and the root
   * private key (PKCS#8 PEM, owner-readable only: only document issuers need it).
   */
  public void save(Path rootCertificatePem, Path rootPrivateKeyPem) throws IOException {
    root.writePem(rootCertificatePem, rootPrivateKeyPem);
  }

  /** The development root certificate, to configure as a verifier's trust root. */
  public X509Certificate rootCertificate() {
    return root.certificate();
  }

  /**
   * Issues a document stamped with the clock's current time.
   *
   * @param pcrs measurement registers (indices 0..31, values of 32, 48 or 64 bytes; PCR0..PCR2 required)
   * @param nonce optional, at most 1024 bytes
   * @param userData optional, at most 1024 bytes
   * @param publicKey optional, at most 1024 bytes
   */
  public byte[] issue(String moduleId, Map<Integer, byte[]> pcrs, byte[] nonce, byte[] userData, byte[] publicKey) {
    Objects.requireNonNull(moduleId, "moduleId");
    if (moduleId.isEmpty() || moduleId.length() > NitroCodec.MAX_MODULE_ID_CHARS) {
      throw new IllegalArgumentException("module_id must be 1.." + NitroCodec.MAX_MODULE_ID_CHARS + " characters");
    }
    TreeMap<Integer, byte[]> sorted = checkedPcrs(pcrs);
    checkOptional("nonce", nonce);
    checkOptional("user_data", userData);
    checkOptional("public_key", publicKey);

    Instant now = clock.instant();
    IssuedCertificate leaf = leaf(moduleId, now);
    try {
      byte[] payload = codec.payload(moduleId, now.toEpochMilli(), sorted, leaf.certificate().getEncoded(),
          List.of(root.certificate().getEncoded(), intermediate.certificate().getEncoded()),
          copy(publicKey), copy(userData), copy(nonce));
      Signature signer = Signature.getInstance("SHA384withECDSAinP1363Format");
      signer.initSign(leaf.privateKey());
      signer.update(codec.sigStructure(NitroCodec.PROTECTED_ES384, payload));
      return codec.sign1(NitroCodec.PROTECTED_ES384, payload, signer.sign());
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("cannot encode certificate", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("ES384 signing unavailable", e);
    }
  }

  /**
   * The module's leaf for a document stamped {@code now}: the current one while {@code now} lies in
   * [its start, its start + {@link #LEAF_REUSE}) (a clock that moved backwards gets a new one), else a
   * new leaf valid from a second before {@code now}'s second for {@link #LEAF_VALIDITY}.
   */
  private synchronized IssuedCertificate leaf(String moduleId, Instant now) {
    Leaf current = leaves.get(moduleId);
    if (current != null && !now.isBefore(current.from()) && now.isBefore(current.from().plus(LEAF_REUSE))) {
      return current.certificate();
    }
    // a second before its own second: a document is verified at the time of what it binds (a receipt is
    // stamped, signed, then attested), which can fall in the second before (5 s before is still too early)
    Instant notBefore = max(now.truncatedTo(ChronoUnit.SECONDS).minus(LEAF_BACKDATE), intermediate.certificate().getNotBefore().toInstant());
    Instant notAfter = min(now.truncatedTo(ChronoUnit.SECONDS).plus(LEAF_VALIDITY), intermediate.certificate().getNotAfter().toInstant());
    IssuedCertificate leaf = intermediate.issueSigning(moduleId, notBefore, notAfter);
    leaves.put(moduleId, new Leaf(leaf, now));
    return leaf;
  }

  private static TreeMap<Integer, byte[]> checkedPcrs(Map<Integer, byte[]> pcrs) {
    if (pcrs.isEmpty() || pcrs.size() > NitroCodec.MAX_PCRS) {
      throw new IllegalArgumentException("pcrs must hold 1.." + NitroCodec.MAX_PCRS + " entries");
    }
    TreeMap<Integer, byte[]> sorted = new TreeMap<>();
    for (Map.Entry<Integer, byte[]> e : pcrs.entrySet()) {
      int index = e.getKey();
      byte[] value = e.getValue();
      if (index < 0 || index >= NitroCodec.MAX_PCRS) {
        throw new IllegalArgumentException("PCR index must be 0.." + (NitroCodec.MAX_PCRS - 1) + ", got " + index);
      }
      if (value == null || (value.length != 32 && value.length != 48 && value.length != 64)) {
        throw new IllegalArgumentException("PCR" + index + " must be 32, 48 or 64 bytes");
      }
      sorted.put(index, value.clone());
    }
    for (int i = 0; i <= 2; i++) {
      if (!sorted.containsKey(i)) {
        throw new IllegalArgumentException("PCR" + i + " is required");
      }
    }
    return sorted;
  }

  private static void checkOptional(String field, byte[] value) {
    if (value != null && value.length > NitroCodec.MAX_OPTIONAL_FIELD_BYTES) {
      throw new IllegalArgumentException(field + " is " + value.length + " bytes, limit "
          + NitroCodec.MAX_OPTIONAL_FIELD_BYTES);
    }
  }

  private static byte[] copy(byte[] b) {
    return b == null ? null : b.clone();
  }

  private static Instant min(Instant a, Instant b) {
    return a.isBefore(b) ? a : b;
  }

  private static Instant max(Instant a, Instant b) {
    return a.isAfter(b) ? a : b;
  }

  /** Reads a development root certificate for a verifier (PEM or DER). */
  public static X509Certificate readRootCertificate(Path file) throws IOException {
    return Pem.readCertificate(file);
  }
}

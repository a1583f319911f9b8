package org.cloister.trust.attestation;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Content of an attestation document whose signature, chain and policy have been verified.
 *
 * @param moduleId identifier of the attested enclave
 * @param timestamp when the platform produced the document
 * @param digest digest algorithm of the PCRs ("SHA384" for Nitro)
 * @param pcrs measurement registers by index, lowercase hexadecimal
 * @param publicKey public key bound by the document, if any
 * @param userData user data bound by the document, if any
 * @param nonce nonce bound by the document, if any
 * @param leafCertificate the certificate whose key signed the document
 * @param debug whether PCR0..PCR2 are all zero (a debug-mode enclave), possible only when the policy
 *     allowed debug enclaves
 */
public record VerifiedAttestation(
    String moduleId,
    Instant timestamp,
    String digest,
    Map<Integer, String> pcrs,
    Optional<byte[]> publicKey,
    Optional<byte[]> userData,
    Optional<byte[]> nonce,
    X509Certificate leafCertificate,
    boolean debug) {

  public VerifiedAttestation {
    Objects.requireNonNull(moduleId, "moduleId");
    Objects.requireNonNull(timestamp, "timestamp");
    Objects.requireNonNull(digest, "digest");
    Objects.requireNonNull(leafCertificate, "leafCertificate");
    pcrs = Collections.unmodifiableMap(new TreeMap<>(pcrs));
    publicKey = publicKey.map(byte[]::clone);
    userData = userData.map(byte[]::clone);
    nonce = nonce.map(byte[]::clone);
  }

  @Override
  public Optional<byte[]> publicKey() {
    return publicKey.map(byte[]::clone);
  }

  @Override
  public Optional<byte[]> userData() {
    return userData.map(byte[]::clone);
  }

  @Override
  public Optional<byte[]> nonce() {
    return nonce.map(byte[]::clone);
  }

  /** The value of PCR {@code index}, if the document has it. */
  public Optional<byte[]> pcr(int index) {
    return Optional.ofNullable(pcrs.get(index)).map(HexFormat.of()::parseHex);
  }

  @Override
  public String toString() {
    return "VerifiedAttestation[moduleId=" + moduleId + ", timestamp=" + timestamp + ", digest=" + digest
        + ", pcrs=" + pcrs.size() + ", debug=" + debug + "]";
  }
}

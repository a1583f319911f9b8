package org.cloister.trust.attestation;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The runtime verifier of a party (site, key broker, inference client, consortium host) for an enclave on a
 * confidential VM (SEV-SNP or TDX): verifies the evidence against the pinned vendor roots with the party's
 * collateral folder (plus whatever collateral the enclave sent, which counts only where it chains to the pinned
 * roots), requires the evidence's platform to be the pinned one, every pinned measurement to match, and the
 * signed report data to equal {@link ReportDataBinding#reportData} of the party's own nonce and the public key
 * and user data sent beside the evidence. Only then are they returned (the user data as a Nitro document's:
 * the secure aggregator's signing key, {@link EnclaveSignatures#signingKey(byte[])}; the inference enclave's
 * served model).
 *
 * <p>Nitro documents carry the keys themselves and keep their own path ({@code NitroAttestationVerifier}).
 */
public final class BoundEvidenceVerifier {
  private final Map<TeePlatform, EvidenceVerifier> verifiers;
  private final MeasurementPins pins;
  private final Collateral collateral;

  /** An enclave verified, the HPKE key and the user data its evidence binds. */
  public record BoundEnclave(VerifiedEvidence evidence, byte[] hpkePublicKey, byte[] userData) {
    public BoundEnclave {
      Objects.requireNonNull(evidence, "evidence");
      hpkePublicKey = hpkePublicKey.clone();
      userData = userData.clone();
    }

    @Override
    public byte[] hpkePublicKey() {
      return hpkePublicKey.clone();
    }

    @Override
    public byte[] userData() {
      return userData.clone();
    }

    /** The secure aggregator's signing key in the user data ({@link EnclaveSignatures#userData}). */
    public PublicKey signingKey() throws AttestationException {
      return EnclaveSignatures.signingKey(userData);
    }
  }

  /**
   * @param verifiers  one verifier per platform (the pinned-root ones outside tests: {@link #pinnedRoots})
   * @param pins       the measurements this party pins, on one platform
   * @param collateral the party's collateral (its folder, read with {@link Collateral#readDirectory})
   */
  public BoundEvidenceVerifier(List<EvidenceVerifier> verifiers, MeasurementPins pins, Collateral collateral) {
    this.verifiers = new java.util.HashMap<>();
    for (EvidenceVerifier v : verifiers) {
      this.verifiers.put(v.platform(), v);
    }
    this.pins = Objects.requireNonNull(pins, "pins");
    if (pins.platform().equals(TeePlatform.NITRO)) {
      throw new IllegalArgumentException("Nitro documents bind the keys themselves: verify them with the Nitro "
          + "attestation verifier");
    }
    if (!this.verifiers.containsKey(pins.platform())) {
      throw new IllegalArgumentException("no verifier for the pinned platform " + pins.platform().id());
    }
    this.collateral = Objects.requireNonNull(collateral, "collateral");
  }

  /**
   * A verifier anchored in the vendor roots pinned in the installed verifiers (AMD ARKs and the Intel SGX Root CA
   * in this module, a plug-in platform's in its own code).
   */
  public static BoundEvidenceVerifier pinnedRoots(MeasurementPins pins, Collateral collateral) {
    return new BoundEvidenceVerifier(EvidenceVerifiers.installed().confidentialVm(Map.of()), pins, collateral);
  }

  public MeasurementPins pins() {
    return pins;
  }

  /**
   * @param platform        the platform the enclave says it runs on (must be the pinned one)
   * @param evidence        the raw SNP report or TDX quote
   * @param sentCollateral  collateral items the enclave sent (certificates, CRLs, PCS JSON), may be empty
   * @param hpkePublicKey   the HPKE public key sent beside the evidence
   * @param userData        the user data sent beside the evidence
   * @param nonce           this party's fresh nonce
   * @param at              the instant certificates and collateral are judged at
   * @throws AttestationException naming what does not hold
   */
  public BoundEnclave verify(String platform, byte[] evidence, List<byte[]> sentCollateral, byte[] hpkePublicKey,
      byte[] userData, byte[] nonce, Instant at) throws AttestationException {
    TeePlatform p;
    try {
      p = EvidenceVerifiers.fromId(platform);
    } catch (IllegalArgumentException e) {
      throw new AttestationException(FailureReason.MALFORMED, e.getMessage(), e);
    }
    if (!p.equals(pins.platform())) {
      throw new AttestationException(FailureReason.POLICY_VIOLATION, "the enclave sent " + p.id()
          + " evidence but this party pins " + pins.platform().id() + " measurements");
    }
    if (hpkePublicKey == null || hpkePublicKey.length != 32) {
      throw new AttestationException(FailureReason.MALFORMED, "the enclave sent no 32-byte HPKE public key beside its "
          + p.id() + " evidence");
    }
    userData = userData == null ? new byte[0] : userData;
    EvidencePolicy policy = EvidencePolicy.at(at).withOutOfDateTcbAccepted(pins.acceptOutOfDateTcb())
        .withTcbFloor(pins.tcbFloor());
    for (Map.Entry<String, byte[]> e : pins.values().entrySet()) {
      policy = policy.withExpected(e.getKey(), e.getValue());
    }
    VerifiedEvidence v = verifiers.get(p).verify(evidence, merged(sentCollateral), policy);
    byte[] expected = ReportDataBinding.reportData(nonce, hpkePublicKey, userData);
    byte[] signed = v.reportData().orElseThrow(() -> new AttestationException(FailureReason.NONCE_MISMATCH,
        "the " + p.id() + " evidence carries no report data"));
    if (!MessageDigest.isEqual(expected, signed)) {
      throw new AttestationException(FailureReason.NONCE_MISMATCH, "the " + p.id() + " report data is not the "
          + "binding of this verifier's nonce and the HPKE key and user data sent (a replayed report, or keys "
          + "substituted by the host)");
    }
    return new BoundEnclave(v, hpkePublicKey, userData);
  }

  private Collateral merged(List<byte[]> sent) throws AttestationException {
    if (sent == null || sent.isEmpty()) {
      return collateral;
    }
    List<X509Certificate> certs = new ArrayList<>(collateral.certificates());
    List<X509CRL> crls = new ArrayList<>(collateral.crls());
    List<Collateral.RawJson> tcb = new ArrayList<>(collateral.tcbInfos());
    List<Collateral.RawJson> qe = new ArrayList<>(collateral.qeIdentities());
    int i = 0;
    for (byte[] item : sent) {
      if (item.length > Collateral.MAX_FILE_BYTES) {
        throw new AttestationException(FailureReason.MALFORMED, "collateral item " + i + " sent by the enclave is "
            + item.length + " bytes, more than any collateral item");
      }
      try {
        Collateral.classify(item, "collateral item " + i + " sent by the enclave", certs, crls, tcb, qe);
      } catch (IOException e) {
        throw new AttestationException(FailureReason.MALFORMED, e.getMessage(), e);
      }
      i++;
    }
    return new Collateral(certs, crls, tcb, qe);
  }
}

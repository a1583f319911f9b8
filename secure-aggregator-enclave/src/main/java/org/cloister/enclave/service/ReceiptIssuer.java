package org.cloister.enclave.service;

import com.google.protobuf.ByteString;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.Objects;
import org.cloister.enclave.runtime.EnclaveSigner;
import org.cloister.protocol.v1.AggregationReceipt;
import org.cloister.protocol.v1.SignedReceipt;
import org.cloister.trust.attestation.AttestationPlatform;

/**
 * Signs aggregation receipts with the enclave's attested key. Each signed receipt carries an
 * attestation document whose user_data binds the signing key and whose nonce is the SHA-256 of the
 * receipt bytes, and the measured configuration and policy bytes (PCR1, PCR2), so that anyone
 * holding the platform's root and the consortium's expected PCRs can check it offline: who the
 * members were, the cohort floor, and that this enclave build, with that configuration, signed it.
 */
public final class ReceiptIssuer {
  /** The receipt's format field. */
  public static final String FORMAT = "cloister-aggregation-receipt/v1";
  /** The signature purpose (domain separation, see {@code EnclaveSignatures}). */
  public static final String PURPOSE = "aggregation-receipt";

  private final EnclaveSigner signer;
  private final org.cloister.enclave.runtime.EvidenceSource source;
  private final byte[] hpkePublicKey;
  private final byte[] configBytes;
  private final byte[] policyBytes;
  private final Clock clock;

  /**
   * @param configBytes the enclave configuration exactly as measured into PCR1
   * @param policyBytes the aggregation policy exactly as measured into PCR2
   */
  public ReceiptIssuer(EnclaveSigner signer, AttestationPlatform platform, byte[] configBytes, byte[] policyBytes,
                       Clock clock) {
    this(signer, org.cloister.enclave.runtime.EvidenceSource.nitro(platform), null, configBytes, policyBytes, clock);
  }

  /**
   * @param source        the enclave's evidence: a Nitro document, or an SEV-SNP report / TDX quote
   * @param hpkePublicKey the enclave's HPKE key, which SEV-SNP / TDX report data must bind (null for Nitro)
   */
  public ReceiptIssuer(EnclaveSigner signer, org.cloister.enclave.runtime.EvidenceSource source, byte[] hpkePublicKey,
                       byte[] configBytes, byte[] policyBytes, Clock clock) {
    this.signer = Objects.requireNonNull(signer, "signer");
    this.source = Objects.requireNonNull(source, "source");
    if (!(source instanceof org.cloister.enclave.runtime.EvidenceSource.Nitro) && hpkePublicKey == null) {
      throw new IllegalArgumentException("SEV-SNP / TDX receipts bind the enclave's HPKE key: none given");
    }
    this.hpkePublicKey = hpkePublicKey == null ? null : hpkePublicKey.clone();
    this.configBytes = configBytes.clone();
    this.policyBytes = policyBytes.clone();
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** Completes {@code body} (format, issue time), signs it and attaches the attestation. */
  public SignedReceipt issue(AggregationReceipt.Builder body) {
    byte[] receipt = body.setFormat(FORMAT).setIssuedAtMs(clock.millis()).build().toByteArray();
    SignedReceipt.Builder b = SignedReceipt.newBuilder()
        .setReceipt(ByteString.copyFrom(receipt))
        .setSignature(ByteString.copyFrom(signer.sign(PURPOSE, receipt)))
        .setEnclaveConfig(ByteString.copyFrom(configBytes))
        .setAggregationPolicy(ByteString.copyFrom(policyBytes));
    if (source instanceof org.cloister.enclave.runtime.EvidenceSource.Nitro n) {
      // PCR1 and PCR2 measure the configuration and policy; the nonce binds the receipt
      b.setAttestationDocument(ByteString.copyFrom(
          n.platform().attestationDocument(sha256(receipt), signer.attestationUserData(), null)));
    } else {
      // no PCR1/PCR2 on a confidential VM: the measured enclave code commits to the configuration and policy
      // it loaded, in the nonce its report data binds
      b.setEvidence(source.evidence(confidentialVmNonce(receipt, configBytes, policyBytes),
          signer.attestationUserData(), hpkePublicKey));
    }
    return b.build();
  }

  /**
   * The nonce an SEV-SNP / TDX receipt's report data binds: SHA-256 over {@code "cloister/v1 receipt\0"} and the
   * length-prefixed receipt bytes, enclave configuration and aggregation policy, so that the evidence attests the
   * receipt and the configuration and policy the measured enclave code loaded.
   */
  public static byte[] confidentialVmNonce(byte[] receipt, byte[] configBytes, byte[] policyBytes) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update("cloister/v1 receipt\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      for (byte[] part : new byte[][] {receipt, configBytes, policyBytes}) {
        md.update(java.nio.ByteBuffer.allocate(4).putInt(part.length).array());
        md.update(part);
      }
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

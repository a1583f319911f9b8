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
  private final AttestationPlatform platform;
  private final byte[] configBytes;
  private final byte[] policyBytes;
  private final Clock clock;

  /**
   * @param configBytes the enclave configuration exactly as measured into PCR1
   * @param policyBytes the aggregation policy exactly as measured into PCR2
   */
  public ReceiptIssuer(EnclaveSigner signer, AttestationPlatform platform, byte[] configBytes, byte[] policyBytes,
                       Clock clock) {
    this.signer = Objects.requireNonNull(signer, "signer");
    this.platform = Objects.requireNonNull(platform, "platform");
    this.configBytes = configBytes.clone();
    this.policyBytes = policyBytes.clone();
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** Completes {@code body} (format, issue time), signs it and attaches the attestation. */
  public SignedReceipt issue(AggregationReceipt.Builder body) {
    byte[] receipt = body.setFormat(FORMAT).setIssuedAtMs(clock.millis()).build().toByteArray();
    byte[] document = platform.attestationDocument(sha256(receipt), signer.attestationUserData(), null);
    return SignedReceipt.newBuilder()
        .setReceipt(ByteString.copyFrom(receipt))
        .setSignature(ByteString.copyFrom(signer.sign(PURPOSE, receipt)))
        .setAttestationDocument(ByteString.copyFrom(document))
        .setEnclaveConfig(ByteString.copyFrom(configBytes))
        .setAggregationPolicy(ByteString.copyFrom(policyBytes))
        .build();
  }

  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

package org.cloister.broker;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import javax.crypto.SecretKey;
import org.cloister.protocol.v1.Challenge;
import org.cloister.protocol.v1.ChallengeRequest;
import org.cloister.protocol.v1.DecryptRequest;
import org.cloister.protocol.v1.DecryptResponse;
import org.cloister.protocol.v1.GenerateDataKeyRequest;
import org.cloister.protocol.v1.GenerateDataKeyResponse;
import org.cloister.protocol.v1.KeyBrokerGrpc;
import org.cloister.protocol.v1.Recipient;
import org.cloister.protocol.v1.RecipientAad;
import java.util.List;
import org.cloister.protocol.EvidenceWire;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.BoundEvidenceVerifier;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidenceVerifier;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.AttestationVerifier;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeException;

/**
 * The key broker's API for enclaves. A data key is released only when the key exists and is
 * enabled, the request carries a nonce this broker issued (once, recently), and the evidence
 * verifies with exactly the measurements one role of the key's policy pins and that nonce: a Nitro
 * document against the trust root with the role's PCRs, or an SEV-SNP report / TDX quote against the
 * pinned vendor roots and the broker's collateral with the role's named measurements, its report data
 * binding the nonce and the X25519 key sent beside it ({@link BoundEvidenceVerifier}). The key is then
 * HPKE-sealed to that attested X25519 key, so only the attested enclave can read it. Every release and
 * refusal is audited.
 */
public final class KeyBrokerService extends KeyBrokerGrpc.KeyBrokerImplBase {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(KeyBrokerService.class);
  /** HPKE info of keys sealed to a recipient. */
  public static final byte[] RECIPIENT_INFO = "cloister/v1 broker data key".getBytes(StandardCharsets.US_ASCII);

  private final BrokerKeystore keystore;
  private final KeyPolicies policies;
  private final AttestationVerifier verifier;
  private final List<EvidenceVerifier> cvmVerifiers;
  private final Collateral collateral;
  private final NonceRegistry nonces;
  private final DataKeyWrapper wrapper;
  private final AuditLog audit;
  private final Clock clock;
  private final Hpke hpke = new Hpke();

  /**
   * @param verifier     the Nitro document verifier (its root: AWS, or the development root)
   * @param cvmVerifiers the SEV-SNP / TDX verifiers (pinned vendor roots outside tests)
   * @param collateral   the broker's collateral folder for SEV-SNP / TDX (certificates, TCB info, CRLs)
   */
  KeyBrokerService(BrokerKeystore keystore, KeyPolicies policies, AttestationVerifier verifier,
                   List<EvidenceVerifier> cvmVerifiers, Collateral collateral, NonceRegistry nonces,
                   DataKeyWrapper wrapper, AuditLog audit, Clock clock) {
    this.keystore = keystore;
    this.policies = policies;
    this.verifier = verifier;
    this.cvmVerifiers = List.copyOf(cvmVerifiers);
    this.collateral = collateral;
    this.nonces = nonces;
    this.wrapper = wrapper;
    this.audit = audit;
    this.clock = clock;
  }

  @Override
  public void getChallenge(ChallengeRequest req, StreamObserver<Challenge> out) {
    respond(out, () -> {
      NonceRegistry.Issued n = nonces.issue();
      return Challenge.newBuilder().setNonce(ByteString.copyFrom(n.nonce())).setExpiresUnixMs(n.expiresMillis()).build();
    });
  }

  @Override
  public void generateDataKey(GenerateDataKeyRequest req, StreamObserver<GenerateDataKeyResponse> out) {
    respond(out, () -> {
      String op = "GenerateDataKey";
      Granted g = authorize(op, req.getKeyId(), req.getRecipient());
      byte[] dataKey = wrapper.newDataKey();
      try {
        byte[] blob = wrapper.wrap(g.kek(), req.getKeyId(), req.getEncryptionContextMap(), dataKey);
        byte[] sealed = sealToRecipient(op, req.getKeyId(), req.getRecipient(), g.recipientKey(), dataKey);
        audit.record("release", fields(op, req.getKeyId(), "released", g, req.getEncryptionContextMap()));
        return GenerateDataKeyResponse.newBuilder().setKeyId(req.getKeyId())
            .setCiphertextBlob(ByteString.copyFrom(blob))
            .setCiphertextForRecipient(ByteString.copyFrom(sealed)).build();
      } catch (GeneralSecurityException e) {
        throw refuse(op, req.getKeyId(), Status.INTERNAL, "wrap_failed", "cannot wrap the data key: " + e.getMessage());
      } finally {
        Arrays.fill(dataKey, (byte) 0);
      }
    });
  }

  @Override
  public void decrypt(DecryptRequest req, StreamObserver<DecryptResponse> out) {
    respond(out, () -> {
      String op = "Decrypt";
      Granted g = authorize(op, req.getKeyId(), req.getRecipient());
      byte[] dataKey;
      try {
        dataKey = wrapper.unwrap(g.kek(), req.getKeyId(), req.getEncryptionContextMap(), req.getCiphertextBlob().toByteArray());
      } catch (GeneralSecurityException e) {
        throw refuse(op, req.getKeyId(), Status.INVALID_ARGUMENT, "bad_ciphertext_blob", e.getMessage());
      }
      try {
        byte[] sealed = sealToRecipient(op, req.getKeyId(), req.getRecipient(), g.recipientKey(), dataKey);
        audit.record("release", fields(op, req.getKeyId(), "released", g, req.getEncryptionContextMap()));
        return DecryptResponse.newBuilder().setKeyId(req.getKeyId())
            .setCiphertextForRecipient(ByteString.copyFrom(sealed)).build();
      } finally {
        Arrays.fill(dataKey, (byte) 0);
      }
    });
  }

  /** A role admitted: the key to seal to and what the audit record says about the evidence. */
  private record Granted(SecretKey kek, byte[] recipientKey, String role, Map<String, Object> evidence) {
  }

  private Granted authorize(String op, String keyId, Recipient recipient) {
    KeyPolicy policy = policies.get(keyId).orElse(null);
    SecretKey kek = policy == null ? null : keystore.key(keyId).orElse(null);
    if (policy == null || kek == null) {
      throw refuse(op, keyId, Status.NOT_FOUND, "unknown_key", "no key '" + keyId + "'");
    }
    if (!policy.enabled()) {
      throw refuse(op, keyId, Status.FAILED_PRECONDITION, "key_disabled", "key '" + keyId
          + "' is disabled: nothing wrapped with it can be unwrapped");
    }
    EvidenceWire.Received received;
    try {
      received = EvidenceWire.received(recipient.hasEvidence() ? recipient.getEvidence() : null,
          !recipient.getLegacyAttestationDocument().isEmpty(), "the recipient");
    } catch (IllegalArgumentException e) {
      throw refuse(op, keyId, Status.INVALID_ARGUMENT, FailureReason.MALFORMED.name(), e.getMessage());
    }
    byte[] nonce = recipient.getNonce().toByteArray();
    if (!nonces.consume(nonce)) {
      throw refuse(op, keyId, Status.PERMISSION_DENIED, "stale_nonce", "the nonce was not issued by this broker, "
          + "has expired or was already used (a replayed attestation document?)");
    }
    TeePlatform platform;
    try {
      platform = org.cloister.trust.attestation.EvidenceVerifiers.fromId(received.platform()); // built-in or an installed verifier plug-in's
    } catch (IllegalArgumentException e) {
      throw refuse(op, keyId, Status.INVALID_ARGUMENT, FailureReason.MALFORMED.name(), e.getMessage());
    }
    Map<String, KeyPolicy.Expected> roles = new LinkedHashMap<>();
    policy.rolesFor(op).forEach((role, e) -> {
      if (e.platform().equals(platform)) {
        roles.put(role, e);
      }
    });
    if (roles.isEmpty()) {
      throw refuse(op, keyId, Status.PERMISSION_DENIED, FailureReason.POLICY_VIOLATION.name(), "attestation refused: "
          + "the recipient sent " + platform.id() + " evidence but no role allowed " + op + " on this key "
          + policy.rolesFor(op).keySet() + " runs on " + platform.id());
    }
    // the evidence must verify with exactly the measurements of one role allowed this operation; every
    // role is tried (a role refusing for its TCB floor must neither hide a role that admits the evidence
    // nor hide that the measurements matched no role), and a refusal names each role's reason
    Map<String, AttestationException> failures = new LinkedHashMap<>();
    for (Map.Entry<String, KeyPolicy.Expected> r : roles.entrySet()) {
      Granted g;
      try {
        g = platform == TeePlatform.NITRO
            ? nitro(kek, r.getKey(), r.getValue().pcrs(), received.evidence(), nonce)
            : confidentialVm(kek, r.getKey(), r.getValue().pins(), received, nonce);
      } catch (AttestationException e) {
        failures.put(r.getKey(), e);
        continue;
      }
      if (g.recipientKey() == null || g.recipientKey().length != Hpke.KEY_BYTES) {
        throw refuse(op, keyId, Status.PERMISSION_DENIED, "no_recipient_key",
            "the evidence binds no 32-byte X25519 public key to seal the data key to");
      }
      return g;
    }
    java.util.Set<FailureReason> reasons = java.util.EnumSet.noneOf(FailureReason.class);
    failures.values().forEach(e -> reasons.add(e.reason()));
    FailureReason reason = reasons.size() == 1 ? reasons.iterator().next() : FailureReason.POLICY_VIOLATION;
    StringBuilder why = new StringBuilder();
    failures.forEach((role, e) -> why.append(why.length() == 0 ? "" : "; ").append(role).append(": ")
        .append(e.reason()).append(" (").append(e.getMessage()).append(')'));
    throw refuse(op, keyId, Status.PERMISSION_DENIED, reason.name(), "attestation refused: " + reason
        + ": the evidence is admitted by no role allowed " + op + " on this key " + roles.keySet() + ": " + why);
  }

  private Granted nitro(SecretKey kek, String role, Map<Integer, String> pcrs, byte[] document, byte[] nonce)
      throws AttestationException {
    VerificationPolicy vp = VerificationPolicy.at(clock.instant()).withExpectedNonce(nonce);
    for (Map.Entry<Integer, String> e : pcrs.entrySet()) {
      vp = vp.withExpectedPcr(e.getKey(), e.getValue());
    }
    VerifiedAttestation a = verifier.verify(document, vp);
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("platform", TeePlatform.NITRO.id());
    f.put("module_id", a.moduleId());
    f.put("pcr0", a.pcrs().get(0));
    return new Granted(kek, a.publicKey().orElse(null), role, f);
  }

  private Granted confidentialVm(SecretKey kek, String role, MeasurementPins pins, EvidenceWire.Received r,
                                 byte[] nonce) throws AttestationException {
    BoundEvidenceVerifier.BoundEnclave b = new BoundEvidenceVerifier(cvmVerifiers, pins, collateral)
        .verify(r.platform(), r.evidence(), r.collateral(), r.hpkePublicKey(), r.userData(), nonce, clock.instant());
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("platform", pins.platform().id());
    String first = MeasurementPins.required(pins.platform()).get(0);
    f.put(first, b.evidence().measurements().get(first));
    b.evidence().tcb().ifPresent(t -> f.put("tcb_status", t.status()));
    return new Granted(kek, b.hpkePublicKey(), role, f);
  }

  private byte[] sealToRecipient(String op, String keyId, Recipient r, byte[] recipientKey, byte[] dataKey) {
    byte[] aad = RecipientAad.newBuilder().setOperation(op).setKeyId(keyId).setNonce(r.getNonce()).build().toByteArray();
    try {
      return hpke.seal(recipientKey, RECIPIENT_INFO, aad, dataKey);
    } catch (HpkeException e) {
      throw refuse(op, keyId, Status.PERMISSION_DENIED, "bad_recipient_key", e.getMessage());
    }
  }

  private StatusRuntimeException refuse(String op, String keyId, Status status, String reason, String message) {
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("operation", op);
    f.put("key_id", keyId);
    f.put("reason", reason);
    f.put("detail", message);
    audit.record("refusal", f);
    return status.withDescription(message).asRuntimeException();
  }

  private static Map<String, Object> fields(String op, String keyId, String outcome, Granted g,
                                            Map<String, String> context) {
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("operation", op);
    f.put("key_id", keyId);
    f.put("outcome", outcome);
    f.put("role", g.role());
    f.putAll(g.evidence());
    f.put("recipient_key_sha256", sha256Hex(g.recipientKey()));
    f.put("encryption_context", new java.util.TreeMap<>(context));
    return f;
  }

  private static String sha256Hex(byte[] b) {
    try {
      return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Runs one call and fails closed: a refusal goes back as its status; any other failure (a bug,
   * or the audit log refusing a write, which {@link AuditLog} raises on purpose) releases nothing,
   * is logged here with its cause (exception messages carry no key material) and goes back as
   * INTERNAL naming the failure's kind, never silently.
   */
  static <T> void respond(StreamObserver<T> out, Supplier<T> body) {
    T response;
    try {
      response = body.get();
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    } catch (RuntimeException e) {
      log.error("key broker call failed; nothing was released", e);
      out.onError(Status.INTERNAL.withDescription("key broker internal error (" + e.getClass().getSimpleName()
          + (e instanceof AuditLog.AuditFailure ? ": the audit log cannot be written, so no key is released" : "")
          + "); the broker's log has the cause").asRuntimeException());
      return;
    }
    out.onNext(response);
    out.onCompleted();
  }
}

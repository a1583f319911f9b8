package org.cloister.inference.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.cloister.protocol.v1.InferenceAttestation;
import org.cloister.protocol.v1.InferenceAttestationRequest;
import org.cloister.protocol.v1.InferenceGrpc;
import org.cloister.protocol.v1.InferenceQuery;
import org.cloister.protocol.v1.InferenceResult;
import org.cloister.protocol.v1.Predictions;
import org.cloister.protocol.v1.SealedInferenceRequest;
import org.cloister.protocol.v1.SealedInferenceResponse;
import org.cloister.protocol.v1.ServedModel;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.AttestationVerifier;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeException;

/**
 * A clinician's client of the inference tier. {@link #attest()} asks (through the host) for a
 * document carrying a fresh nonce of its own, verifies it against the trust root and the expected
 * PCRs of the inference enclave, and remembers the attested HPKE key; {@link #predict} then seals
 * each query to that key and opens the sealed answer. Nothing is sent before attestation succeeds.
 * Not thread-safe.
 */
public final class InferenceClient {
  private final InferenceGrpc.InferenceBlockingStub stub;
  private final AttestationVerifier verifier;
  private final Map<Integer, byte[]> expectedPcrs;
  private final org.cloister.trust.attestation.BoundEvidenceVerifier boundVerifier;
  private final Clock clock;
  private final SecureRandom random;
  private final Hpke hpke;
  private byte[] enclaveKey;
  private AttestationSummary attested;

  /**
   * @param host         channel to the host that relays to the enclave (or to the enclave itself)
   * @param verifier     attestation verifier with the trust root (AWS Nitro, or a development root)
   * @param expectedPcrs the inference enclave's published PCRs (at least PCR0)
   */
  public InferenceClient(Channel host, AttestationVerifier verifier, Map<Integer, byte[]> expectedPcrs, Clock clock,
                         SecureRandom random) {
    if (expectedPcrs == null || !expectedPcrs.containsKey(0)) {
      throw new IllegalArgumentException("expected PCRs must include PCR0 (the inference enclave's code)");
    }
    this.stub = InferenceGrpc.newBlockingStub(host);
    this.verifier = Objects.requireNonNull(verifier, "verifier");
    this.expectedPcrs = Map.copyOf(expectedPcrs);
    this.boundVerifier = null;
    this.clock = clock;
    this.random = random;
    this.hpke = new Hpke(random);
  }

  /**
   * A client of an inference enclave on a confidential VM (SEV-SNP, TDX).
   *
   * @param verifier the pinned vendor roots, the enclave's pinned measurements and this client's collateral
   */
  public InferenceClient(Channel host, org.cloister.trust.attestation.BoundEvidenceVerifier verifier, Clock clock,
                         SecureRandom random) {
    this.stub = InferenceGrpc.newBlockingStub(host);
    this.boundVerifier = Objects.requireNonNull(verifier, "verifier");
    this.verifier = null;
    this.expectedPcrs = Map.of();
    this.clock = clock;
    this.random = random;
    this.hpke = new Hpke(random);
  }

  /**
   * Obtains and verifies a fresh attestation document.
   *
   * @throws AttestationException when the document does not verify (wrong PCRs, replayed, untrusted): send nothing
   */
  public AttestationSummary attest() throws AttestationException {
    byte[] nonce = new byte[32];
    random.nextBytes(nonce);
    InferenceAttestation doc;
    try {
      doc = stub.withDeadlineAfter(30, TimeUnit.SECONDS).attest(InferenceAttestationRequest.newBuilder()
          .setNonce(ByteString.copyFrom(nonce)).build());
    } catch (StatusRuntimeException e) {
      throw new IllegalStateException("cannot reach the inference host: " + e.getStatus().getCode() + ": "
          + e.getStatus().getDescription(), e);
    }
    org.cloister.protocol.v1.Evidence evidence = doc.hasEvidence() ? doc.getEvidence() : null;
    byte[] pk;
    byte[] userData;
    String moduleId;
    Instant time;
    Map<Integer, String> pcrs = new TreeMap<>();
    Map<String, String> measurements = new java.util.LinkedHashMap<>();
    if (boundVerifier != null) {
      org.cloister.protocol.EvidenceWire.Received r;
      try {
        r = org.cloister.protocol.EvidenceWire.received(evidence, !doc.getLegacyDocument().isEmpty(),
            "the inference enclave");
      } catch (IllegalArgumentException e) {
        throw new AttestationException(org.cloister.trust.attestation.FailureReason.MALFORMED, e.getMessage(), e);
      }
      time = clock.instant();
      org.cloister.trust.attestation.BoundEvidenceVerifier.BoundEnclave b = boundVerifier.verify(r.platform(),
          r.evidence(), r.collateral(), r.hpkePublicKey(), r.userData(), nonce, time);
      pk = b.hpkePublicKey();
      userData = b.userData();
      moduleId = b.evidence().platform().id();
      for (String name : boundVerifier.pins().values().keySet()) {
        measurements.put(name, b.evidence().measurements().get(name));
      }
    } else {
      VerificationPolicy policy = VerificationPolicy.at(clock.instant()).withExpectedNonce(nonce);
      for (Map.Entry<Integer, byte[]> e : expectedPcrs.entrySet()) {
        policy = policy.withExpectedPcr(e.getKey(), e.getValue());
      }
      byte[] document;
      try {
        document = org.cloister.protocol.EvidenceWire.nitroDocument(evidence, !doc.getLegacyDocument().isEmpty(),
            "the inference enclave");
      } catch (IllegalArgumentException e) {
        throw new AttestationException(org.cloister.trust.attestation.FailureReason.MALFORMED, e.getMessage(), e);
      }
      VerifiedAttestation a = verifier.verify(document, policy);
      pk = a.publicKey().orElse(null);
      userData = a.userData().orElse(new byte[0]);
      moduleId = a.moduleId();
      time = a.timestamp();
      for (Integer i : expectedPcrs.keySet()) {
        pcrs.put(i, HexFormat.of().formatHex(a.pcr(i).orElseThrow()));
        measurements.put("pcr" + i, pcrs.get(i));
      }
    }
    if (pk == null || pk.length != Hpke.KEY_BYTES) {
      throw new IllegalStateException("the inference enclave's evidence binds no X25519 public key");
    }
    ServedModel served;
    try {
      served = ServedModel.parseFrom(userData);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("the inference enclave's evidence does not describe a served model", e);
    }
    org.cloister.data.ModelCard card = modelCard(served, doc.getModelCard().toByteArray());
    this.enclaveKey = pk;
    this.attested = new AttestationSummary(moduleId, time, pcrs, served.getStudyId(), served.getModelName(),
        served.getModelVersion(), served.getNumFeatures(), served.getNumClasses(),
        HexFormat.of().formatHex(served.getArtifactSha256().toByteArray()), measurements, card);
    return attested;
  }

  /**
   * The model card the enclave sent beside its evidence, if the evidence names one: its SHA-256 must
   * be the one in the signed {@link ServedModel} (the host relays the card and could alter it).
   */
  private static org.cloister.data.ModelCard modelCard(ServedModel served, byte[] card) throws AttestationException {
    byte[] bound = served.getModelCardSha256().toByteArray();
    if (bound.length == 0) {
      return null;
    }
    byte[] digest;
    try {
      digest = java.security.MessageDigest.getInstance("SHA-256").digest(card);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    if (!java.security.MessageDigest.isEqual(digest, bound)) {
      throw new AttestationException(org.cloister.trust.attestation.FailureReason.MALFORMED, "the model card relayed "
          + "with the evidence is not the one the enclave's evidence binds (SHA-256 " + HexFormat.of().formatHex(digest)
          + ", bound " + HexFormat.of().formatHex(bound) + "): altered in transit", null);
    }
    org.cloister.data.ModelCard c;
    try {
      c = org.cloister.data.ModelCard.parse(card, "the inference enclave's model card");
    } catch (IllegalArgumentException e) {
      throw new AttestationException(org.cloister.trust.attestation.FailureReason.MALFORMED, e.getMessage(), e);
    }
    if (!c.studyId().equals(served.getStudyId()) || c.features().size() != served.getNumFeatures()
        || c.classes().size() != served.getNumClasses()) {
      throw new AttestationException(org.cloister.trust.attestation.FailureReason.MALFORMED, "the model card ("
          + c.studyId() + ", " + c.features().size() + " features) does not describe the served model", null);
    }
    return c;
  }

  /** What the last {@link #attest()} verified, or null. */
  public AttestationSummary attested() {
    return attested;
  }

  /**
   * Scores raw rows (values as measured, in the card's feature order): checks them against the
   * attested model card (feature count, finite values, each within its declared range) and transforms
   * them as the sites' training did, then {@link #predict(double[][])}.
   *
   * @param clampOutOfRange clamp values outside a declared range as training did, instead of refusing them
   * @throws InferenceException an input error naming the row, column and feature; or, when the enclave
   *     serves no model card, an input error saying so (raw values cannot be transformed)
   */
  public Prediction predictRaw(double[][] rows, boolean clampOutOfRange) throws InferenceException {
    if (attested == null) {
      throw new IllegalStateException("attest() first: no query is sent to an unverified enclave");
    }
    org.cloister.data.ModelCard card = attested.modelCard();
    if (card == null) {
      throw new InferenceException("the inference enclave serves no model card: it cannot say how raw values are "
          + "transformed; send model inputs (already standardized as in training) instead", true, null);
    }
    double[][] inputs;
    try {
      inputs = card.apply(rows, clampOutOfRange);
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new InferenceException(e.getMessage(), true, e);
    }
    return predict(inputs);
  }

  /** Scores {@code rows} (model inputs, each of the model's feature count) with a fresh random request id. */
  public Prediction predict(double[][] rows) throws InferenceException {
    byte[] id = new byte[16];
    random.nextBytes(id);
    return predict(HexFormat.of().formatHex(id), rows);
  }

  /**
   * Scores {@code rows}.
   *
   * @throws InferenceException {@link InferenceException#inputError()} for a query the enclave refused
   *     (wrong feature count, NaN or infinite values, too many rows); otherwise a service failure
   * @throws IllegalStateException before a successful {@link #attest()}
   */
  public Prediction predict(String requestId, double[][] rows) throws InferenceException {
    if (attested == null) {
      throw new IllegalStateException("attest() first: no query is sent to an unverified enclave");
    }
    InferenceSealing.checkRequestId(requestId);
    int width = rows.length == 0 ? 0 : rows[0].length;
    InferenceQuery.Builder q = InferenceQuery.newBuilder().setNumFeatures(width);
    for (int r = 0; r < rows.length; r++) {
      if (rows[r].length != width) {
        throw new InferenceException("row " + (r + 1) + " has " + rows[r].length + " features, row 1 has " + width,
            true, null);
      }
      for (double v : rows[r]) {
        q.addValues(v);
      }
    }
    byte[] aad = InferenceSealing.aad(requestId, attested.studyId(), attested.modelVersion());
    Hpke.SealedWithSecret sealed;
    try {
      sealed = hpke.sealAndExport(enclaveKey, InferenceSealing.QUERY_INFO, aad, q.build().toByteArray(),
          InferenceSealing.REPLY_EXPORT, InferenceSealing.REPLY_KEY_BYTES);
    } catch (HpkeException e) {
      throw new InferenceException("cannot seal the query to the attested key: " + e.getMessage(), false, e);
    }
    SealedInferenceResponse resp;
    try {
      resp = stub.withDeadlineAfter(60, TimeUnit.SECONDS).infer(SealedInferenceRequest.newBuilder()
          .setRequestId(requestId).setPayload(ByteString.copyFrom(sealed.message())).build());
    } catch (StatusRuntimeException e) {
      throw new InferenceException("inference failed: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription(),
          false, e);
    }
    InferenceResult result;
    try {
      result = InferenceResult.parseFrom(InferenceSealing.openReply(sealed.exportedSecret(), aad,
          resp.getPayload().toByteArray()));
    } catch (GeneralSecurityException | InvalidProtocolBufferException e) {
      throw new InferenceException("the answer does not open with this query's reply key (not from the attested "
          + "enclave, or altered in transit)", false, e);
    }
    if (result.hasInputError()) {
      throw new InferenceException(result.getInputError(), true, null);
    }
    Predictions p = result.getPredictions();
    int k = p.getNumClasses();
    if (k <= 0 || p.getProbabilitiesCount() != (long) rows.length * k) {
      throw new InferenceException("the answer has " + p.getProbabilitiesCount() + " probabilities for " + rows.length
          + " rows", false, null);
    }
    float[][] out = new float[rows.length][k];
    for (int r = 0; r < rows.length; r++) {
      for (int c = 0; c < k; c++) {
        out[r][c] = p.getProbabilities(r * k + c);
      }
    }
    return new Prediction(requestId, p.getModelVersion(), out);
  }
}

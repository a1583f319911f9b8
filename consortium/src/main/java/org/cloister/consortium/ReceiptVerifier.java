package org.cloister.consortium;

import com.google.protobuf.InvalidProtocolBufferException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.service.ReceiptIssuer;
import org.cloister.protocol.v1.AggregationReceipt;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ReceiptContribution;
import org.cloister.protocol.v1.ReceiptRejection;
import org.cloister.protocol.v1.SignedReceipt;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.AttestationVerifier;
import org.cloister.trust.attestation.EnclaveSignatures;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;

/**
 * Checks a coordinator database's aggregation receipts offline, trusting only the attestation
 * platform's root and the consortium's expected PCRs (never the database): each receipt's
 * attestation document chains to the root, carries the expected PCR0..2 and binds, as its nonce,
 * the SHA-256 of the receipt; the receipt is signed by the signing key the document binds; the
 * configuration and policy it carries are the measured ones (PCR1, PCR2); its contributors are
 * distinct training sites of that configuration, at least the policy's publish floor; its model digest matches the
 * model stored for that version; and every round that published a model has exactly one receipt.
 * Problems name the round and what is wrong.
 */
public final class ReceiptVerifier {
  private static final HexFormat HEX = HexFormat.of();

  private final AttestationVerifier attestation;
  private final Map<Integer, byte[]> expectedPcrs;
  private final org.cloister.trust.attestation.BoundEvidenceVerifier confidentialVm;

  /**
   * @param attestation  verifies documents against the platform's root
   * @param expectedPcrs the consortium's PCR0..2 (its {@code expected-pcrs.json})
   */
  public ReceiptVerifier(AttestationVerifier attestation, Map<Integer, byte[]> expectedPcrs) {
    this.attestation = Objects.requireNonNull(attestation, "attestation");
    for (int i = 0; i <= 2; i++) {
      if (!expectedPcrs.containsKey(i)) {
        throw new IllegalArgumentException("expected PCRs must include PCR" + i);
      }
    }
    this.expectedPcrs = Map.copyOf(expectedPcrs);
    this.confidentialVm = null;
  }

  /**
   * For an enclave on SEV-SNP or TDX: each receipt's evidence must verify against the pinned vendor roots with the
   * consortium's pinned measurements, at the receipt's issue time, its report data binding
   * {@link ReceiptIssuer#confidentialVmNonce} of the receipt, configuration and policy it carries, and the signing
   * key that signed it.
   *
   * @param confidentialVm the pinned roots, the consortium's measurements and the verifier's collateral
   */
  public ReceiptVerifier(org.cloister.trust.attestation.BoundEvidenceVerifier confidentialVm) {
    this.confidentialVm = Objects.requireNonNull(confidentialVm, "confidentialVm");
    this.attestation = null;
    this.expectedPcrs = Map.of();
  }

  /** One verified receipt, as the budget report shows it. */
  public record Checked(String studyId, int round, long modelVersion, List<String> contributors,
                        Map<String, String> rejected, String centralDpEvent, double centralNoiseStddev) {
  }

  /** The outcome for a whole database. */
  public record Result(int receipts, List<String> problems, List<Checked> verified) {
    public Result {
      problems = List.copyOf(problems);
      verified = List.copyOf(verified);
    }

    public boolean valid() {
      return problems.isEmpty();
    }
  }

  /** Verifies every receipt of {@code studies} in {@code store}. */
  public Result verify(StudyStore store, List<String> studies) {
    List<String> problems = new ArrayList<>();
    List<Checked> verified = new ArrayList<>();
    int count = 0;
    for (String study : studies) {
      List<StudyStore.StoredReceipt> receipts = store.receipts(study);
      count += receipts.size();
      Map<String, Integer> byRoundId = new HashMap<>();
      for (StudyStore.StoredReceipt r : receipts) {
        byRoundId.merge(r.roundId(), 1, Integer::sum);
        String where = "study " + study + " round " + r.round() + " (model version " + r.modelVersion() + "): ";
        List<String> found = new ArrayList<>();
        Checked c = check(store, study, r, found);
        found.forEach(p -> problems.add(where + p));
        if (found.isEmpty() && c != null) {
          verified.add(c);
        }
      }
      for (RoundResult round : store.rounds(study)) {
        int n = byRoundId.getOrDefault(round.roundId(), 0);
        if (round.quorumMet() && n == 0) {
          problems.add("study " + study + " round " + round.round() + " published model version "
              + round.modelVersion() + " but has no receipt");
        } else if (n > 1) {
          problems.add("study " + study + " round " + round.round() + " has " + n + " receipts");
        }
      }
    }
    return new Result(count, problems, verified);
  }

  private Checked check(StudyStore store, String study, StudyStore.StoredReceipt stored, List<String> problems) {
    SignedReceipt signed;
    AggregationReceipt receipt;
    try {
      signed = SignedReceipt.parseFrom(stored.signedReceipt());
      receipt = AggregationReceipt.parseFrom(signed.getReceipt());
    } catch (InvalidProtocolBufferException e) {
      problems.add("the stored receipt is not a readable signed receipt");
      return null;
    }
    if (!ReceiptIssuer.FORMAT.equals(receipt.getFormat())) {
      problems.add("receipt format '" + receipt.getFormat() + "' is not " + ReceiptIssuer.FORMAT);
      return null;
    }
    byte[] body = signed.getReceipt().toByteArray();
    byte[] configBytes = signed.getEnclaveConfig().toByteArray();
    byte[] policyBytes = signed.getAggregationPolicy().toByteArray();
    if (signed.hasEvidence() || confidentialVm != null) {
      if (!confidentialVmAttested(signed, body, configBytes, policyBytes, Instant.ofEpochMilli(receipt.getIssuedAtMs()),
          problems)) {
        return null;
      }
    } else if (!nitroAttested(signed, body, configBytes, policyBytes, Instant.ofEpochMilli(receipt.getIssuedAtMs()),
        problems)) {
      return null;
    }
    EnclaveConfig config;
    AggregationPolicy policy;
    try {
      config = EnclaveConfig.parse(configBytes);
      policy = AggregationPolicy.parse(policyBytes);
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
      return null;
    }
    if (!study.equals(receipt.getStudyId()) || !study.equals(policy.studyId())) {
      problems.add("the receipt is for study '" + receipt.getStudyId() + "' under a policy for '" + policy.studyId() + "'");
    }
    if (receipt.getRound() != stored.round() || !receipt.getRoundId().equals(stored.roundId())
        || receipt.getModelVersion() != stored.modelVersion()) {
      problems.add("the signed receipt is for round " + receipt.getRound() + " (id " + receipt.getRoundId()
          + "), model version " + receipt.getModelVersion() + ", not the round it is stored with");
    }
    Set<String> members = new HashSet<>();
    Set<String> trainers = new HashSet<>();
    config.members().forEach(m -> {
      members.add(m.id());
      if (EnclaveConfig.ROLE_SITE.equals(m.role())) {
        trainers.add(m.id());
      }
    });
    Set<String> seen = new HashSet<>();
    List<String> contributors = new ArrayList<>();
    for (ReceiptContribution c : receipt.getContributionsList()) {
      if (!members.contains(c.getSiteId())) {
        problems.add("contributor '" + c.getSiteId() + "' is not a consortium member");
      } else if (!trainers.contains(c.getSiteId())) {
        problems.add("contributor '" + c.getSiteId() + "' is an observer, not a training site");
      }
      if (!seen.add(c.getSiteId())) {
        problems.add("contributor '" + c.getSiteId() + "' is listed twice");
      }
      contributors.add(c.getSiteId());
    }
    int floor = policy.publishFloor();
    if (receipt.getCohortFloor() != floor) {
      problems.add("the receipt states cohort floor " + receipt.getCohortFloor() + " but the measured policy's is " + floor);
    }
    if (seen.size() < floor) {
      problems.add(seen.size() + " contributor(s), below the policy's cohort floor " + floor);
    }
    Optional<ModelArtifact> model = store.model(study, receipt.getModelVersion());
    if (model.isEmpty()) {
      problems.add("no stored model version " + receipt.getModelVersion());
    } else if (!MessageDigest.isEqual(sha(model.get().getPayload().toByteArray(), "SHA-256"),
        receipt.getModelSha256().toByteArray())) {
      problems.add("the stored model version " + receipt.getModelVersion()
          + " does not match the digest the enclave signed (altered or substituted model)");
    }
    Map<String, String> rejected = new LinkedHashMap<>();
    for (ReceiptRejection r : receipt.getRejectedList()) {
      rejected.put(r.getSiteId(), r.getReason());
    }
    return new Checked(study, receipt.getRound(), receipt.getModelVersion(), contributors, rejected,
        receipt.getCentralDpEvent(), receipt.getCentralNoiseStddev());
  }

  private boolean nitroAttested(SignedReceipt signed, byte[] body, byte[] configBytes, byte[] policyBytes,
                                Instant issued, List<String> problems) {
    if (attestation == null) {
      problems.add("the receipt carries a Nitro document but this verifier pins "
          + confidentialVm.pins().platform().id() + " measurements");
      return false;
    }
    VerificationPolicy vp = VerificationPolicy.at(issued);
    for (Map.Entry<Integer, byte[]> e : new TreeMap<>(expectedPcrs).entrySet()) {
      vp = vp.withExpectedPcr(e.getKey(), e.getValue());
    }
    VerifiedAttestation doc;
    try {
      doc = attestation.verify(signed.getAttestationDocument().toByteArray(), vp);
    } catch (AttestationException e) {
      problems.add("its attestation does not verify (" + e.reason() + "): " + e.getMessage());
      return false;
    }
    if (doc.nonce().isEmpty() || !MessageDigest.isEqual(doc.nonce().get(), sha(body, "SHA-256"))) {
      problems.add("the receipt is not the one the enclave attested (its SHA-256 is not the document's nonce): "
          + "altered after signing");
      return false;
    }
    try {
      if (!EnclaveSignatures.verify(doc, ReceiptIssuer.PURPOSE, body, signed.getSignature().toByteArray())) {
        problems.add("the enclave signature over the receipt does not verify (forged or altered receipt)");
        return false;
      }
    } catch (AttestationException e) {
      problems.add("its attestation binds no enclave signing key: " + e.getMessage());
      return false;
    }
    if (!HEX.formatHex(SimulatedPcrs.measure(configBytes)).equals(doc.pcrs().get(1))) {
      problems.add("the enclave configuration it carries is not the measured one (PCR1)");
      return false;
    }
    if (!HEX.formatHex(SimulatedPcrs.measure(policyBytes)).equals(doc.pcrs().get(2))) {
      problems.add("the aggregation policy it carries is not the measured one (PCR2)");
      return false;
    }
    return true;
  }

  private boolean confidentialVmAttested(SignedReceipt signed, byte[] body, byte[] configBytes, byte[] policyBytes,
                                         Instant issued, List<String> problems) {
    if (confidentialVm == null) {
      problems.add("the receipt carries " + signed.getEvidence().getPlatform() + " evidence but this verifier pins "
          + "Nitro PCRs");
      return false;
    }
    if (!signed.hasEvidence()) {
      problems.add("the receipt carries a Nitro document but this verifier pins "
          + confidentialVm.pins().platform().id() + " measurements");
      return false;
    }
    org.cloister.trust.attestation.BoundEvidenceVerifier.BoundEnclave enclave;
    try {
      org.cloister.protocol.EvidenceWire.Received r = org.cloister.protocol.EvidenceWire.received(signed.getEvidence(),
          false, "the receipt");
      enclave = confidentialVm.verify(r.platform(), r.evidence(), r.collateral(), r.hpkePublicKey(), r.userData(),
          ReceiptIssuer.confidentialVmNonce(body, configBytes, policyBytes), issued);
    } catch (IllegalArgumentException e) {
      problems.add("its evidence is malformed: " + e.getMessage());
      return false;
    } catch (AttestationException e) {
      problems.add("its attestation does not verify (" + e.reason() + "): " + e.getMessage()
          + (e.reason() == org.cloister.trust.attestation.FailureReason.NONCE_MISMATCH
              ? " (the receipt, configuration or policy was altered after signing)" : ""));
      return false;
    }
    try {
      if (!EnclaveSignatures.verify(enclave.signingKey(), ReceiptIssuer.PURPOSE, body,
          signed.getSignature().toByteArray())) {
        problems.add("the enclave signature over the receipt does not verify (forged or altered receipt)");
        return false;
      }
    } catch (AttestationException e) {
      problems.add("its attestation binds no enclave signing key: " + e.getMessage());
      return false;
    }
    return true;
  }

  private static byte[] sha(byte[] bytes, String algorithm) {
    try {
      return MessageDigest.getInstance(algorithm).digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

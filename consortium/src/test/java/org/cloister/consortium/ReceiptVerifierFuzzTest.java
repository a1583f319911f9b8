package org.cloister.consortium;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.cloister.coordinator.ledger.LedgerRecord;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.runtime.EnclaveSigner;
import org.cloister.enclave.service.ReceiptIssuer;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.fuzz.RequestFuzz;
import org.cloister.protocol.v1.AggregationReceipt;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ReceiptContribution;
import org.cloister.protocol.v1.ReceiptRejection;
import org.cloister.protocol.v1.SignedReceipt;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.attestation.nitro.SimulatedNitroPlatform;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;

/**
 * Receipts are stored by the untrusted coordinator and read by anyone who checks a study
 * ({@code receipts verify}, the budget report): whatever a stored receipt's bytes (the signed receipt,
 * its body, the enclave configuration and policy it carries, the attestation document), the
 * verifier reports problems and never throws. Half the inputs are a genuine receipt, signed by an
 * enclave key bound in a development Nitro document whose PCR1/PCR2 measure the configuration and
 * policy, with fuzzer edits to the outer message or to one of its parts.
 */
class ReceiptVerifierFuzzTest {
  private static final String STUDY = "s";
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final DevelopmentAttestationAuthority AUTHORITY = DevelopmentAttestationAuthority.generate(Clock.systemUTC(), RANDOM);
  private static final byte[] CONFIG = new EnclaveConfig(EnclaveConfig.FORMAT, "m", List.of(
      new EnclaveConfig.Member("site-1", EnclaveConfig.ROLE_SITE, "ab".repeat(32)),
      new EnclaveConfig.Member("site-2", EnclaveConfig.ROLE_SITE, "cd".repeat(32))), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
      new EnclaveConfig.KeyBroker("k", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "broker")).toJson();
  private static final byte[] POLICY = new AggregationPolicy(AggregationPolicy.FORMAT, STUDY, "m", 4, 10, 2, 2, null,
      AggregationPolicy.FEDAVG).toJson();
  private static final Map<Integer, byte[]> PCRS = Map.of(0, new byte[48], 1, SimulatedPcrs.measure(CONFIG), 2, SimulatedPcrs.measure(POLICY));
  private static final ModelArtifact MODEL = ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(2).setDimension(4)
      .setPayload(ByteString.copyFrom(FloatCodec.encode(new float[4]))).build();
  private static final SignedReceipt VALID = new ReceiptIssuer(EnclaveSigner.generate(RANDOM),
      // issued a minute after the platform's certificates, as a running enclave issues its receipts
      new SimulatedNitroPlatform(AUTHORITY, "m", PCRS), CONFIG, POLICY, Clock.offset(Clock.systemUTC(), java.time.Duration.ofMinutes(1)))
      .issue(AggregationReceipt.newBuilder().setStudyId(STUDY).setRound(1).setRoundId("r1").setBaseModelVersion(1).setModelVersion(2)
          .setModelSha256(ByteString.copyFrom(FloatCodec.sha256(MODEL.getPayload().toByteArray()))).setCohortFloor(2)
          .addContributions(ReceiptContribution.newBuilder().setSiteId("site-1").setStatementSha256(ByteString.copyFrom(new byte[32])))
          .addContributions(ReceiptContribution.newBuilder().setSiteId("site-2").setStatementSha256(ByteString.copyFrom(new byte[32])))
          .addRejected(ReceiptRejection.newBuilder().setSiteId("site-3").setReason("late")));
  private static final ReceiptVerifier VERIFIER = new ReceiptVerifier(new NitroAttestationVerifier(AUTHORITY.rootCertificate()), PCRS);

  /** Test double of the coordinator's database holding one round, its model and its stored receipt (what the verifier reads). */
  private record OneReceiptStore(byte[] receipt) implements StudyStore {
    @Override
    public List<StoredReceipt> receipts(String studyId) {
      return List.of(new StoredReceipt(1, "r1", 2, receipt));
    }

    @Override
    public List<RoundResult> rounds(String studyId) {
      return List.of(new RoundResult(1, "r1", 1, List.of("site-1", "site-2"), List.of("site-1", "site-2"), Map.of(), 2, true,
          Map.of(), 1, Map.of()));
    }

    @Override
    public Optional<ModelArtifact> model(String studyId, long version) {
      return version == 2 ? Optional.of(MODEL) : Optional.empty();
    }

    @Override
    public List<String> studies() {
      return List.of(STUDY);
    }

    @Override
    public StudyState openStudy(String studyId, String configFingerprint, ModelArtifact initialModel) {
      throw new UnsupportedOperationException("read-only");
    }

    @Override
    public void saveSite(String studyId, String siteId, long numExamples) {
      throw new UnsupportedOperationException("read-only");
    }

    @Override
    public void commitRound(String studyId, RoundResult result, ModelArtifact newModel, List<LedgerRecord> spends, byte[] receipt) {
      throw new UnsupportedOperationException("read-only");
    }

    @Override
    public boolean recordSpend(String studyId, LedgerRecord spend, String status, String reason) {
      throw new UnsupportedOperationException("read-only");
    }

    @Override
    public int closeInFlightSpends(String studyId, String reason) {
      throw new UnsupportedOperationException("read-only");
    }

    @Override
    public Map<String, SpendStatus> spendStatuses(String studyId) {
      return Map.of();
    }

    @Override
    public List<Checkpoint> checkpoints(String studyId) {
      return List.of();
    }

    @Override
    public List<LedgerEntry> ledger(String studyId) {
      return List.of();
    }

    @Override
    public void saveStatus(String studyId, String status, String detail) {
      throw new UnsupportedOperationException("read-only");
    }

    @Override
    public void close() {
    }
  }


  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void storedReceipt(FuzzedDataProvider d) {
    SignedReceipt.Builder b = VALID.toBuilder();
    byte[] bytes = switch (d.consumeInt(0, 4)) {
      case 0 -> RequestFuzz.mutate(d, VALID.toByteArray());
      case 1 -> b.setReceipt(ByteString.copyFrom(RequestFuzz.mutate(d, VALID.getReceipt().toByteArray()))).build().toByteArray();
      case 2 -> b.setEnclaveConfig(ByteString.copyFrom(RequestFuzz.mutate(d, CONFIG))).build().toByteArray();
      case 3 -> b.setAggregationPolicy(ByteString.copyFrom(RequestFuzz.mutate(d, POLICY))).build().toByteArray();
      default -> b.setAttestationDocument(ByteString.copyFrom(RequestFuzz.mutate(d, VALID.getAttestationDocument().toByteArray())))
          .build().toByteArray();
    };
    ReceiptVerifier.Result r = VERIFIER.verify(new OneReceiptStore(bytes), List.of(STUDY));
    if (Arrays.equals(bytes, VALID.toByteArray()) && !r.valid()) {
      throw new AssertionError("the genuine receipt does not verify: " + r.problems());
    }
  }
}

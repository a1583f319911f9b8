package org.cloister.enclave.service;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.security.cert.CertificateEncodingException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.aggregation.AggregationSession;
import org.cloister.enclave.aggregation.UpdateKernel;
import org.cloister.enclave.runtime.EnclaveSigner;
import org.cloister.enclave.runtime.EvidenceSource;
import org.cloister.enclave.runtime.KeyBrokerClient;
import org.cloister.protocol.EvidenceWire;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.fuzz.RequestFuzz;
import org.cloister.protocol.fuzz.RequestFuzz.Answer;
import org.cloister.protocol.v1.AggregateInput;
import org.cloister.protocol.v1.AttestationRequest;
import org.cloister.protocol.v1.ContributionStatement;
import org.cloister.protocol.v1.DescribeRequest;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundChallenge;
import org.cloister.protocol.v1.RoundChallengeBody;
import org.cloister.protocol.v1.RoundChallengeRequest;
import org.cloister.protocol.v1.RoundHeader;
import org.cloister.protocol.v1.SealedUpdate;
import org.cloister.protocol.v1.SignedContribution;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeException;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.cloister.trust.ledger.SpendSignatures;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.cloister.trust.pki.Pem;

/**
 * The enclave's request handlers take bytes from the untrusted host: whatever the bytes of a
 * GetRoundChallenge, GetAttestation or Describe request, or of the messages of an Aggregate call
 * (a round header and sealed updates), parsed as gRPC parses them and handed to the real
 * {@link SecureAggregatorService} (its contribution verifier, HPKE, kernel and receipt issuer), the
 * enclave answers or refuses with a status, never INTERNAL or UNKNOWN (an exception escaping). Half
 * the inputs are genuine: a round opened with a real challenge, its header, and two updates sealed
 * to the enclave's key with statements signed by consortium sites, with fuzzer edits. The policy's
 * cohort floor (3) is above the two sites the fuzzer can sign for, so no model is ever published
 * (publishing needs the key broker, which is not part of this harness).
 */
class EnclaveRequestFuzzTest {
  private static final String STUDY = "s";
  private static final int DIM = 4;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  private static final CertificateAuthority CA = CertificateAuthority.createRoot("consortium", EcCurve.P256,
      NOW.minus(1, ChronoUnit.DAYS), NOW.plus(1, ChronoUnit.DAYS), RANDOM);
  private static final List<IssuedCertificate> SITES = List.of(
      CA.issueClient("site-1", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS)),
      CA.issueClient("site-2", NOW.minusSeconds(60), NOW.plus(1, ChronoUnit.DAYS)));
  private static final Hpke HPKE = new Hpke();
  private static final HpkeKeyPair KEY = HPKE.generateKeyPair();
  private static final SecureAggregatorService SERVICE = service();
  private static int rounds;

  private static SecureAggregatorService service() {
    try {
      String pem = Pem.certificatesToPem(List.of(CA.certificate()));
      EnclaveConfig config = new EnclaveConfig(EnclaveConfig.FORMAT, "m", List.of(
          new EnclaveConfig.Member("site-1", EnclaveConfig.ROLE_SITE, "ab".repeat(32)),
          new EnclaveConfig.Member("site-2", EnclaveConfig.ROLE_SITE, "cd".repeat(32)),
          new EnclaveConfig.Member("site-3", EnclaveConfig.ROLE_SITE, "ef".repeat(32))), pem,
          new EnclaveConfig.KeyBroker("k", pem, "broker"));
      AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, STUDY, "m", DIM, 10.0, 2, 3, null,
          AggregationPolicy.FEDAVG);
      EnclaveSigner signer = EnclaveSigner.generate(RANDOM);
      DevelopmentAttestationAuthority authority = DevelopmentAttestationAuthority.generate(Clock.systemUTC(), RANDOM);
      Map<Integer, byte[]> pcrs = Map.of(0, new byte[48], 1, new byte[48], 2, new byte[48]);
      EvidenceSource platform = (nonce, userData, publicKey) -> EvidenceWire.nitro(authority.issue("m", pcrs, nonce, userData, publicKey));
      // no broker listens there: the vault is never opened, and the fuzzer cannot reach publication
      KeyBrokerClient broker = new KeyBrokerClient(new InetSocketAddress("127.0.0.1", 1), pem, "broker", platform, KEY);
      return new SecureAggregatorService(policy, config, KEY, signer, platform, "simulated-nitro", pcrs,
          new ModelVault(policy, config, broker, RANDOM), null, UpdateKernel.best(),
          new ReceiptIssuer(signer, platform, KEY.publicKey(), config.toJson(), policy.toJson(), Clock.systemUTC()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }


  private static RoundChallengeRequest challengeRequest(String roundId) {
    byte[] nonce = new byte[16];
    RANDOM.nextBytes(nonce);
    return RoundChallengeRequest.newBuilder().setStudyId(STUDY).setRound(1).setRoundId(roundId).setBaseModelVersion(1)
        .setNonce(ByteString.copyFrom(nonce)).build();
  }

  private static SealedUpdate update(IssuedCertificate site, String roundId, byte[] challenge) {
    String id = site.certificate().getSubjectX500Principal().getName().replace("CN=", "").replaceAll(",.*", "");
    float[] delta = {0.1f, -0.2f, 0.3f, 0f};
    try {
      byte[] payload = HPKE.sealStream(KEY.publicKey(), AggregationSession.UPDATE_INFO,
          AggregationSession.aad(new AggregationSession.RoundContext(STUDY, 1, roundId, 1), id, DIM), FloatCodec.encode(delta));
      byte[] statement = ContributionStatement.newBuilder().setStudyId(STUDY).setRound(1).setRoundId(roundId)
          .setRoundChallenge(ByteString.copyFrom(challenge)).setBaseModelVersion(1).setSiteId(id).setNumExamples(100)
          .setSpendSha256(ByteString.copyFrom(new byte[32])).setPayloadFormat(AggregationSession.UPDATE_FORMAT)
          .setPayloadSha256(ByteString.copyFrom(FloatCodec.sha256(payload))).build().toByteArray();
      return SealedUpdate.newBuilder().setSiteId(id).setNumExamples(100).setBaseModelVersion(1)
          .setPayloadFormat(AggregationSession.UPDATE_FORMAT).setPayload(ByteString.copyFrom(payload))
          .setContribution(SignedContribution.newBuilder().setStatement(ByteString.copyFrom(statement))
              .setSignature(ByteString.copyFrom(SpendSignatures.sign(statement, site.privateKey())))
              .setCertificate(ByteString.copyFrom(site.certificate().getEncoded()))).build();
    } catch (HpkeException | CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void aggregate(FuzzedDataProvider d) throws InvalidProtocolBufferException {
    String roundId = "r-" + (++rounds);
    Answer<RoundChallenge> opened = new Answer<>();
    SERVICE.getRoundChallenge(challengeRequest(roundId), opened);
    opened.check("GetRoundChallenge");
    byte[] challenge = RoundChallengeBody.parseFrom(opened.value().getBody()).getChallenge().toByteArray();
    List<byte[]> messages = new ArrayList<>();
    messages.add(AggregateInput.newBuilder().setHeader(RoundHeader.newBuilder().setStudyId(STUDY).setRound(1).setRoundId(roundId)
        .setBaseModel(ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setDimension(DIM)
            .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(FloatCodec.encode(new float[DIM]))))).build()
        .toByteArray());
    for (IssuedCertificate site : SITES) {
      messages.add(AggregateInput.newBuilder().setUpdate(update(site, roundId, challenge)).build().toByteArray());
    }
    // the host's edits: any message changed, dropped, repeated or swapped
    for (int i = d.consumeInt(0, 3); i > 0 && d.remainingBytes() > 0; i--) {
      int at = d.consumeInt(0, messages.size() - 1);
      switch (d.consumeInt(0, 3)) {
        case 0 -> messages.set(at, RequestFuzz.mutate(d, messages.get(at)));
        case 1 -> messages.remove(at);
        case 2 -> messages.add(d.consumeInt(0, messages.size()), messages.get(at));
        default -> {
          byte[] moved = messages.remove(at);
          messages.add(d.consumeInt(0, messages.size()), moved);
        }
      }
      if (messages.isEmpty()) {
        break;
      }
    }
    Answer<org.cloister.protocol.v1.AggregateOutput> out = new Answer<>();
    StreamObserver<AggregateInput> in = SERVICE.aggregate(out);
    for (byte[] m : messages) {
      AggregateInput parsed;
      try {
        parsed = AggregateInput.parseFrom(m);
      } catch (InvalidProtocolBufferException malformed) {
        in.onError(Status.CANCELLED.withDescription("malformed message").asRuntimeException()); // gRPC ends the call
        return;
      }
      in.onNext(parsed);
    }
    in.onCompleted();
    out.check("Aggregate");
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void request(FuzzedDataProvider d) throws InvalidProtocolBufferException {
    switch (d.consumeInt(0, 3)) {
      case 0 -> {
        Answer<RoundChallenge> a = new Answer<>();
        try {
          SERVICE.getRoundChallenge(RoundChallengeRequest.parseFrom(RequestFuzz.mutate(d, challengeRequest("u-" + (++rounds)).toByteArray())), a);
        } catch (InvalidProtocolBufferException malformed) {
          return;
        }
        a.check("GetRoundChallenge");
      }
      case 1 -> {
        Answer<org.cloister.protocol.v1.AttestationResponse> a = new Answer<>();
        byte[] nonce = new byte[32];
        RANDOM.nextBytes(nonce);
        try {
          SERVICE.getAttestation(AttestationRequest.parseFrom(RequestFuzz.mutate(d, AttestationRequest.newBuilder().setStudyId(STUDY)
              .setNonce(ByteString.copyFrom(nonce)).build().toByteArray())), a);
        } catch (InvalidProtocolBufferException malformed) {
          return;
        }
        a.check("GetAttestation");
      }
      case 2 -> {
        Answer<org.cloister.protocol.v1.EnclaveDescription> a = new Answer<>();
        try {
          SERVICE.describe(DescribeRequest.parseFrom(RequestFuzz.mutate(d, new byte[0])), a);
        } catch (InvalidProtocolBufferException malformed) {
          return;
        }
        a.check("Describe");
      }
      default -> aggregate(d);
    }
  }
}

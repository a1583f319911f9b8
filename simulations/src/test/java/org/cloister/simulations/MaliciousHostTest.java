package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import org.cloister.protocol.v1.AggregateInput;
import io.grpc.stub.StreamObserver;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CompletableFuture;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.cloister.coordinator.enclave.AttestationRelayService;
import org.cloister.coordinator.enclave.JavaProcess;
import org.cloister.coordinator.enclave.SealedModelStore;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.ImageMeasurement;
import org.cloister.enclave.aggregation.AggregationSession;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.AggregateOutput;
import org.cloister.protocol.v1.AttestationRequest;
import org.cloister.protocol.v1.ContributionStatement;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundChallenge;
import org.cloister.protocol.v1.RoundChallengeRequest;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.protocol.v1.SealedUpdate;
import org.cloister.protocol.v1.SecureAggregatorGrpc;
import org.cloister.protocol.v1.SignedContribution;
import org.cloister.protocol.v1.SignedSpend;
import org.cloister.site.agent.LocalUpdate;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.site.ledger.SpendSigner;
import org.cloister.site.sealing.AttestedHpkeSealer;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.ledger.SpendSignatures;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.IssuedCertificate;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The untrusted host as an adversary (issue 20), against real processes: the key broker and the
 * secure aggregator enclave, the real site code (attested sealer, certificate-signed statements)
 * reaching the enclave through a relay, and a hostile host that speaks the enclave's protocol
 * directly. Every attack fails closed with a named reason; honest rounds still complete.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MaliciousHostTest {
  static final String STUDY = "hostile-host";
  static final int DIM = 512;
  static final List<String> SITES = List.of("site-1", "site-2", "site-3", "site-4");
  static final String OBSERVER = "evaluator";

  @TempDir
  static Path work;
  static SecureAggregationStack.Setup setup;
  static SecureAggregationStack stack;
  static Server relay;
  static ManagedChannel relayChannel;
  static SealedModelStore store;
  static final Map<String, IssuedCertificate> certs = new HashMap<>();
  static final Map<String, UpdateSealer> sealers = new HashMap<>();
  /** The latest model the enclave published (the base of the next round). */
  static ModelArtifact latest;
  static int roundNumber;
  static IssuedCertificate hostMadeCert;

  /** The enclave of the moment (it changes when the host restarts it). */
  static final Channel currentEnclave = new Channel() {
    @Override
    public <Q, R> ClientCall<Q, R> newCall(MethodDescriptor<Q, R> m, CallOptions o) {
      return stack.enclave().channel().newCall(m, o);
    }

    @Override
    public String authority() {
      return stack.enclave().channel().authority();
    }
  };

  @BeforeAll
  static void start() throws Exception {
    List<String> members = new ArrayList<>(SITES);
    members.add(OBSERVER);
    AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, STUDY, "toy", DIM, 5.0, 1,
        AggregationPolicy.DEFAULT_COHORT_FLOOR, null, AggregationPolicy.FEDAVG);
    setup = SecureAggregationStack.prepare(work.resolve("consortium"), policy, members, Set.of(OBSERVER), null,
        SecureAggregationStack.locateImage(), null);
    stack = SecureAggregationStack.launch(setup, null, false);
    store = new SealedModelStore(work.resolve("store"));
    relay = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).maxInboundMessageSize(64 << 20)
        .addService(io.grpc.ServerInterceptors.intercept(new AttestationRelayService(currentEnclave, store),
            countChallengeRequests())).build().start();
    relayChannel = NettyChannelBuilder.forAddress("127.0.0.1", relay.getPort()).usePlaintext()
        .maxInboundMessageSize(64 << 20).build();
    for (String m : members) {
      certs.put(m, setup.issue(m));
    }
    // the host's own CA, issuing itself a certificate in a member's name
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    CertificateAuthority hostCa = CertificateAuthority.createRoot("Cloister development consortium CA", EcCurve.P256,
        now.minus(1, ChronoUnit.HOURS), now.plus(1, ChronoUnit.DAYS), new SecureRandom());
    hostMadeCert = hostCa.issueClient("site-2", now.minus(1, ChronoUnit.HOURS), now.plus(1, ChronoUnit.DAYS));
    byte[] p0 = FloatCodec.encode(new float[DIM]);
    latest = ModelArtifact.newBuilder().setStudyId(STUDY).setVersion(1).setModelName("toy").setDimension(DIM)
        .setFormat(FloatCodec.WEIGHTS_F32LE).setPayload(ByteString.copyFrom(p0))
        .setSha256(ByteString.copyFrom(FloatCodec.sha256(p0))).build();
  }

  @AfterAll
  static void stop() {
    if (relayChannel != null) {
      relayChannel.shutdownNow();
    }
    if (relay != null) {
      relay.shutdownNow();
    }
    if (stack != null) {
      stack.close();
    }
  }

  // ------------------------------------------------------------------ the attacks

  @Test
  @Order(1)
  void fabricatedUpdatesAndReweightingAreRefusedAndTheHonestRoundPublishesTheSignedWeightedMean() throws Exception {
    RoundTask task = nextTask("weights");
    Map<String, Long> weights = Map.of("site-1", 10L, "site-2", 20L, "site-3", 30L);
    List<SealedUpdate> honest = new ArrayList<>();
    for (String s : List.of("site-1", "site-2", "site-3")) {
      honest.add(honest(s, weights.get(s), task));
    }
    // the host re-weights: 1, 2^40 and 0 in the field it forwards (the old attack: one site's update wins)
    List<SealedUpdate> forwarded = List.of(honest.get(0).toBuilder().setNumExamples(1).build(),
        honest.get(1).toBuilder().setNumExamples(1L << 40).build(), honest.get(2).toBuilder().setNumExamples(0).build());
    SealedUpdate unsigned = fabricated("site-4", task, null);
    SealedUpdate hostSigned = fabricated("site-4", task, hostMadeCert);
    SealedUpdate observer = fabricated(OBSERVER, task, certs.get(OBSERVER)); // a genuine member that never trains

    AggregateOutput out = aggregate(task, forwarded.get(0), unsigned, forwarded.get(1), hostSigned, forwarded.get(2),
        observer);

    assertThat(out.getPublished()).isTrue();
    assertThat(out.getAggregatedList()).containsExactly("site-1", "site-2", "site-3");
    assertThat(out.getRejectedMap().get("site-4")).startsWith("unauthenticated:")
        .contains("no contribution statement");
    assertThat(out.getRejectedMap().get(OBSERVER)).startsWith("not_a_training_site:");
    published(out);
    // the host-signed one was refused too (same label: the first reason is kept), proven on its own:
    RoundTask t2 = nextTask("host-ca");
    AggregateOutput alone = aggregate(t2, fabricated("site-2", t2, hostMadeCert));
    assertThat(alone.getRejectedMap().get("site-2")).startsWith("unauthenticated:")
        .contains("not valid under the consortium CA");

    // the published mean is weighted by the signed weights 10, 20, 30 (not the host's 1, 2^40, 0)
    float[] model = stack.open(OBSERVER, latest, relayChannel);
    for (int i = 0; i < DIM; i++) {
      double expected = 0;
      for (String s : weights.keySet()) {
        expected += weights.get(s) / 60.0 * values(s, task.getRound())[i];
      }
      assertThat((double) model[i]).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-6));
    }
  }

  @Test
  @Order(2)
  void aStatementTheHostEditsNoLongerVerifies() throws Exception {
    RoundTask task = nextTask("edited");
    SealedUpdate u = honest("site-1", 10, task);
    ContributionStatement st = ContributionStatement.parseFrom(u.getContribution().getStatement());
    SealedUpdate edited = u.toBuilder().setContribution(u.getContribution().toBuilder()
        .setStatement(st.toBuilder().setNumExamples(1L << 40).build().toByteString())).build();
    AggregateOutput out = aggregate(task, edited, honest("site-2", 10, task), honest("site-3", 10, task));
    assertThat(out.getRejectedMap().get("site-1")).startsWith("unauthenticated:").contains("signature does not verify");
    assertThat(out.getPublished()).as("two authenticated sites are below the floor of 3").isFalse();
    assertThat(out.getDetail()).startsWith("below_cohort_floor:");
  }

  @Test
  @Order(3)
  void twoSitesCiphertextsSwappedAreRefused() throws Exception {
    RoundTask task = nextTask("swap");
    SealedUpdate a = honest("site-1", 10, task);
    SealedUpdate b = honest("site-2", 10, task);
    AggregateOutput out = aggregate(task, a.toBuilder().setPayload(b.getPayload()).build(),
        b.toBuilder().setPayload(a.getPayload()).build(), honest("site-3", 10, task), honest("site-4", 10, task));
    assertThat(out.getRejectedMap().get("site-1")).startsWith("payload_mismatch:");
    assertThat(out.getRejectedMap().get("site-2")).startsWith("payload_mismatch:");
    // statements and payloads swapped together under each other's labels: the label must match the signer
    RoundTask t2 = nextTask("swap-labels");
    SealedUpdate c = honest("site-1", 10, t2);
    SealedUpdate d = honest("site-2", 10, t2);
    AggregateOutput out2 = aggregate(t2, c.toBuilder().setSiteId("site-2").build(), d.toBuilder().setSiteId("site-1").build());
    assertThat(out2.getRejectedMap().values()).allMatch(r -> r.startsWith("unauthenticated:") && r.contains("labelled"));
  }

  @Test
  @Order(4)
  void nMinusOneIsolationIsRefusedByTheCohortFloor() throws Exception {
    // all honest sites dropped but one, plus updates fabricated under the others' names and a
    // genuine observer's: nothing is published, so nobody can read site-1's update off a mean
    RoundTask task = nextTask("n-1");
    AggregateOutput out = aggregate(task, honest("site-1", 10, task), fabricated("site-2", task, null),
        fabricated("site-3", task, hostMadeCert), fabricated(OBSERVER, task, certs.get(OBSERVER)));
    assertThat(out.getPublished()).isFalse();
    assertThat(out.getAggregatedCount()).isZero();
    assertThat(out.getDetail()).startsWith("below_cohort_floor: 1 authenticated valid training site(s)");
    assertThat(out.getRejectedMap().get("site-1")).startsWith("not_published: below_cohort_floor");
  }

  @Test
  @Order(5)
  void anUpdateReplayedFromAnEarlierRoundOrARoundReplayedWholeIsRefused() throws Exception {
    RoundTask a = nextTask("replay-a");
    SealedUpdate old = honest("site-1", 10, a);
    AggregateOutput first = aggregate(a, old, honest("site-2", 10, a), honest("site-3", 10, a));
    assertThat(first.getPublished()).isTrue();
    published(first);
    // the same round id again: its challenge is spent
    assertThatThrownBy(() -> aggregate(a, old)).hasMessageContaining("already aggregated");
    // site-1's old update replayed into the next round, beside fresh ones
    RoundTask b = nextTask("replay-b");
    AggregateOutput out = aggregate(b, old.toBuilder().setBaseModelVersion(b.getModel().getVersion()).build(),
        honest("site-2", 10, b), honest("site-3", 10, b));
    assertThat(out.getRejectedMap().get("site-1")).startsWith("wrong_round:");
    assertThat(out.getPublished()).isFalse();
  }

  @Test
  @Order(6)
  void aChangedRoundIdRoundNumberOrBaseVersionIsRefused() throws Exception {
    RoundTask task = nextTask("changed");
    SealedUpdate u = honest("site-1", 10, task);
    // a round id the enclave never opened
    RoundTask unknown = task.toBuilder().setRoundId("never-opened").build();
    assertThatThrownBy(() -> aggregate(unknown, u)).hasMessageContaining("never opened it");
    // the opened round id under another round number
    assertThatThrownBy(() -> aggregate(task.toBuilder().setRound(task.getRound() + 7).build(), u))
        .hasMessageContaining("was opened as round " + task.getRound());
    // (that spent the challenge) statements of one round under another opened round's header
    RoundTask other = nextTask("changed-2");
    openRound(other);
    AggregateOutput out = aggregate(other, u);
    assertThat(out.getRejectedMap().get("site-1")).startsWith("wrong_round:");
    // a round opened on another base version than the header's
    RoundTask v = nextTask("changed-3");
    openRound(v.toBuilder().setModel(v.getModel().toBuilder().setVersion(v.getModel().getVersion() + 1)).build());
    assertThatThrownBy(() -> aggregate(v)).hasMessageContaining("on model version " + (v.getModel().getVersion() + 1));
  }

  @Test
  @Order(7)
  void aStaleRoundChallengeReplayedToASiteIsRefused() {
    RoundTask task = nextTask("stale-challenge");
    RoundChallenge old = SecureAggregatorGrpc.newBlockingStub(currentEnclave).getRoundChallenge(request(task));
    Channel replaying = io.grpc.ClientInterceptors.intercept(relayChannel, replaceAnswers(RoundChallenge.class, old));
    UpdateSealer sealer = stack.sealer("site-1", replaying);
    assertThatThrownBy(() -> sealer.seal(task, values("site-1", task.getRound())))
        .hasMessageContaining("does not echo this site's nonce");
  }

  @Test
  @Order(8)
  void aRestartedEnclaveRefusesEverythingFromBeforeAndSitesRefuseAModelRollback() throws Exception {
    // an honest round first, so the sites have trained from the latest model
    RoundTask before = nextTask("before-restart");
    AggregateOutput ok = aggregate(before, honest("site-1", 10, before), honest("site-2", 10, before),
        honest("site-3", 10, before));
    assertThat(ok.getPublished()).isTrue();
    ModelArtifact older = latest;
    published(ok);
    // statements gathered for a round the host holds back, then the host restarts the enclave
    RoundTask held = nextTask("held");
    List<SealedUpdate> heldBack = List.of(honest("site-1", 10, held), honest("site-2", 10, held),
        honest("site-3", 10, held));
    stack.close();
    stack = SecureAggregationStack.launch(setup, null, false);

    // the held round id was never opened in this instance
    assertThatThrownBy(() -> aggregate(held, heldBack.toArray(SealedUpdate[]::new)))
        .hasMessageContaining("never opened it (GetRoundChallenge), or opened it before a restart");
    // the host opens it in the new instance: the statements carry the old instance's challenge
    openRound(held);
    AggregateOutput replayed = aggregate(held, heldBack.toArray(SealedUpdate[]::new));
    assertThat(replayed.getPublished()).isFalse();
    assertThat(replayed.getRejectedMap()).hasSize(3)
        .allSatisfy((site, reason) -> assertThat(reason).startsWith("wrong_challenge:"));
    // the restarted enclave no longer knows the latest model: the host offers an older one, the sites refuse it
    RoundTask rollback = RoundTask.newBuilder().setStudyId(STUDY).setRound(++roundNumber).setRoundId("rollback")
        .setModel(older).build();
    assertThatThrownBy(() -> honest("site-1", 10, rollback)).hasMessageContaining("refusing a rollback");
    // an honest round on the latest model completes with the new instance (the sites re-attest it once)
    int attestations = ((AttestedHpkeSealer) sealer("site-1")).attestationsVerified();
    RoundTask after = nextTask("after-restart");
    AggregateOutput out = aggregate(after, honest("site-1", 10, after), honest("site-2", 10, after),
        honest("site-3", 10, after));
    assertThat(out.getPublished()).isTrue();
    published(out);
    assertThat(((AttestedHpkeSealer) sealer("site-1")).attestationsVerified()).isEqualTo(attestations + 1);
  }

  @Test
  @Order(9)
  void sitesVerifyTheAttestationOncePerEnclaveInstance() {
    AttestedHpkeSealer s = (AttestedHpkeSealer) sealer("site-2");
    int before = s.attestationsVerified();
    for (int i = 0; i < 3; i++) {
      RoundTask t = nextTask("cached-" + i);
      honest("site-2", 10, t);
    }
    assertThat(s.attestationsVerified()).isEqualTo(before);
  }

  @Test
  @Order(10)
  void aSubstitutedCaOrPolicyChangesTheMeasurementsAndTheBrokerRefusesTheEnclave() throws Exception {
    // the host swaps the consortium CA for its own in the enclave's configuration
    EnclaveConfig honestConfig = EnclaveConfig.parse(Files.readAllBytes(setup.config()));
    EnclaveConfig swapped = new EnclaveConfig(honestConfig.format(), honestConfig.moduleId(), honestConfig.members(),
        Pem.certificatesToPem(List.of(hostMadeCert.chain().get(hostMadeCert.chain().size() - 1))),
        honestConfig.keyBroker());
    Path config = Files.write(work.resolve("swapped-config.json"), swapped.toJson());
    // and lowers the cohort floor to 2 in the policy
    AggregationPolicy honestPolicy = AggregationPolicy.parse(Files.readAllBytes(setup.policy()));
    Path policy = Files.writeString(work.resolve("lowered-policy.json"), new String(honestPolicy.toJson(),
        StandardCharsets.UTF_8).replace("\"cohort_floor\" : 3", "\"cohort_floor\" : 2"));
    assertThat(AggregationPolicy.parse(Files.readAllBytes(policy)).cohortFloor()).isEqualTo(2);
    Path image = setup.enclaveImage() != null ? setup.enclaveImage() : ImageMeasurement.codeArtifact();
    Map<Integer, byte[]> pcrs = ImageMeasurement.pcrs(image, Files.readAllBytes(config), Files.readAllBytes(policy));
    assertThat(pcrs.get(1)).isNotEqualTo(setup.expectedPcrs().get(1));
    assertThat(pcrs.get(2)).isNotEqualTo(setup.expectedPcrs().get(2));

    SecureAggregationStack.Setup hostile = new SecureAggregationStack.Setup(setup.workDirectory(), setup.enclaveImage(),
        setup.enclaveClasspath(), config, policy, setup.devRootCert(), setup.devRootKey(), setup.expectedPcrs(),
        setup.keyId(), setup.memberKeys(), setup.brokerDirectory(), setup.auditLog(), setup.consortium());
    stack.close();
    try {
      assertThatThrownBy(() -> SecureAggregationStack.launch(hostile, null, false))
          .isInstanceOf(JavaProcess.StartException.class)
          .hasMessageContaining("key broker refused")
          .hasMessageContaining("PCR_MISMATCH");
    } finally {
      stack = SecureAggregationStack.launch(setup, null, false);
    }
    // and a site pinning the consortium's PCRs would refuse such an enclave's documents: PCR1/PCR2 are checked
    byte[] nonce = new byte[32];
    new SecureRandom().nextBytes(nonce);
    byte[] doc = SecureAggregatorGrpc.newBlockingStub(currentEnclave).getAttestation(AttestationRequest.newBuilder()
        .setStudyId(STUDY).setNonce(ByteString.copyFrom(nonce)).build()).getEvidence().getEvidence().toByteArray();
    assertThatThrownBy(() -> new NitroAttestationVerifier(Pem.readCertificate(setup.devRootCert())).verify(doc,
        VerificationPolicy.at(Instant.now()).withExpectedNonce(nonce).withExpectedPcr(1, pcrs.get(1))))
        .hasMessageContaining("PCR1");
  }

  @Test
  @Order(11)
  void aChallengeAskedForWhileTheRoundIsStreamedIsTheRoundsOwnAndIsSpentWhenTheCallEnds() throws Exception {
    // the coordinator streams updates as they arrive, so a slow site may ask for the round's
    // challenge after the round's Aggregate call began: it gets the same challenge, for this call only
    RoundTask task = nextTask("streamed");
    SealedUpdate first = honest("site-1", 10, task);
    SealedUpdate second = honest("site-2", 10, task);
    CompletableFuture<AggregateOutput> result = new CompletableFuture<>();
    StreamObserver<AggregateInput> call = SecureAggregatorGrpc.newStub(currentEnclave)
        .withDeadlineAfter(60, TimeUnit.SECONDS).aggregate(new StreamObserver<>() {
          @Override
          public void onNext(AggregateOutput v) {
            result.complete(v);
          }

          @Override
          public void onError(Throwable t) {
            result.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
          }
        });
    call.onNext(SecureAggregationTest.header(task));
    call.onNext(AggregateInput.newBuilder().setUpdate(first).build());
    call.onNext(AggregateInput.newBuilder().setUpdate(second).build());
    // the header and two updates went out first; site-3 now asks for the challenge (through the
    // relay, after its attestation check), normally after the enclave began this call. Whichever
    // comes first, the outcome must be the same: site-3 is aggregated in this call
    SealedUpdate late = honest("site-3", 10, task); // its sealer asks for (and verifies) the challenge now
    call.onNext(AggregateInput.newBuilder().setUpdate(late).build());
    call.onCompleted();
    AggregateOutput out = result.get(60, TimeUnit.SECONDS);
    assertThat(out.getPublished()).isTrue();
    assertThat(out.getAggregatedList()).containsExactly("site-1", "site-2", "site-3");
    published(out);
    // once the call ended the challenge is spent: no site (and no host) gets it again
    assertThatThrownBy(() -> openRound(task)).hasMessageContaining("already aggregated");
  }

  @Test
  @Order(12)
  void aModelTheHostSealsToOneSiteIsRefusedBeforeTrainingAndAnotherBaseInAStatementIsRefused() throws Exception {
    // HPKE base mode: anyone can seal to a member's public key. The host encrypts weights of its own
    // choosing under a content key of its own and seals that key to site-4, labelled as the round's base
    RoundTask task = nextTask("forged-base");
    float[] chosen = new float[DIM];
    java.util.Arrays.fill(chosen, 0.25f);
    byte[] contentKey = new byte[32];
    new SecureRandom().nextBytes(contentKey);
    byte[] nonce = new byte[org.cloister.trust.aead.AesGcm.NONCE_BYTES];
    ModelArtifact real = task.getModel();
    org.cloister.protocol.v1.EncryptedModel realEnvelope = org.cloister.protocol.v1.EncryptedModel.parseFrom(real.getPayload());
    byte[] artifactAad = org.cloister.protocol.v1.ModelArtifactAad.newBuilder().setStudyId(STUDY)
        .setVersion(real.getVersion()).setModelName(real.getModelName()).setDimension(DIM)
        .setKeyId(realEnvelope.getKeyId()).build().toByteArray();
    byte[] ciphertext = org.cloister.trust.aead.AesGcm.sealStream(contentKey, nonce, artifactAad, FloatCodec.encode(chosen));
    byte[] forgedPayload = realEnvelope.toBuilder().setNonce(ByteString.copyFrom(nonce))
        .setCiphertext(ByteString.copyFrom(ciphertext)).build().toByteArray();
    ModelArtifact forged = real.toBuilder().setPayload(ByteString.copyFrom(forgedPayload))
        .setSha256(ByteString.copyFrom(FloatCodec.sha256(forgedPayload))).build();
    byte[] copyAad = org.cloister.protocol.v1.ModelCopyAad.newBuilder().setStudyId(STUDY).setVersion(real.getVersion())
        .setMemberId("site-4").setModelName(real.getModelName()).setDimension(DIM).build().toByteArray();
    SealedModelCopy forgedCopy = SealedModelCopy.newBuilder().setStudyId(STUDY).setVersion(real.getVersion())
        .setMemberId("site-4").setFormat(org.cloister.site.sealing.SealedModelOpener.COPY_FORMAT)
        .setPayload(ByteString.copyFrom(new Hpke().seal(setup.memberKeys().get("site-4").publicKey(),
            "cloister/v1 global model".getBytes(StandardCharsets.US_ASCII), copyAad, contentKey))).build();
    RoundTask forgedTask = task.toBuilder().setModel(forged).build();
    UpdateSealer victim = stack.sealer("site-4", io.grpc.ClientInterceptors.intercept(relayChannel,
        replaceAnswers(SealedModelCopy.class, forgedCopy)));
    // the forgery opens (it is a well-formed copy sealed to site-4), so only the enclave's digest tells
    assertThat(new org.cloister.site.sealing.SealedModelOpener(null, "site-4", setup.memberKeys().get("site-4"))
        .open(forged, forgedCopy, DIM)).containsOnly(0.25f);
    byte[] forgedSha = FloatCodec.sha256(FloatCodec.encode(chosen));
    byte[] realSha = FloatCodec.sha256(FloatCodec.encode(stack.open(OBSERVER, real, relayChannel)));
    // site-4 refuses before it trains (SiteAgent signs the spend only after training: nothing is spent)
    assertThatThrownBy(() -> victim.openGlobalModel(forgedTask, DIM))
        .isInstanceOf(org.cloister.site.sealing.SealingException.class)
        .hasMessageContaining("refusing to train on it")
        .hasMessageContaining(java.util.HexFormat.of().formatHex(forgedSha))
        .hasMessageContaining(java.util.HexFormat.of().formatHex(realSha));

    // the host lies to both sides: a statement (genuinely signed by site-4) binding another base digest
    float[] v = values("site-4", task.getRound());
    UpdateSealer.Sealed sealed = sealer("site-4").seal(task, v);
    IssuedCertificate cert = certs.get("site-4");
    SpendSigner signer = new SpendSigner("site-4", cert.privateKey(), cert.certificate(), 1e-5, "ds-site-4");
    SignedSpend spend = signer.sign(task, LocalUpdate.nonPrivate(v, 10, Map.of()));
    SealedUpdate otherBase = SealedUpdate.newBuilder().setSiteId("site-4").setNumExamples(10)
        .setBaseModelVersion(task.getModel().getVersion()).setPayloadFormat(sealed.format())
        .setPayload(ByteString.copyFrom(sealed.payload()))
        .setContribution(signer.signContribution(task, 10, sealed.format(), sealed.payload(), sealed.roundChallenge(),
            forgedSha, spend)).build();

    // the round completes with the three honest sites; site-4's update on another base is refused by name
    AggregateOutput out = aggregate(task, honest("site-1", 10, task), honest("site-2", 10, task),
        honest("site-3", 10, task), otherBase);
    assertThat(out.getPublished()).isTrue();
    assertThat(out.getAggregatedList()).containsExactly("site-1", "site-2", "site-3");
    assertThat(out.getRejectedMap().get("site-4")).startsWith("wrong_base_model:")
        .contains(java.util.HexFormat.of().formatHex(forgedSha));
    published(out);
  }

  @Test
  @Order(13)
  void theEnclaveRefusesABaseModelOtherThanTheOneItsChallengeNamed() throws Exception {
    // a restarted enclave knows no published model: it pins the first digest named for the round,
    // and the host cannot then aggregate the round against another base
    stack.close();
    stack = SecureAggregationStack.launch(setup, null, false);
    RoundTask task = nextTask("pinned-base");
    SecureAggregatorGrpc.newBlockingStub(currentEnclave).getRoundChallenge(request(task).toBuilder()
        .setBaseModelSha256(ByteString.copyFrom(new byte[32])).build());
    assertThatThrownBy(() -> aggregate(task)).hasMessageContaining("not the " + "00".repeat(32)
        + " named in the round's challenge to the sites");
  }

  @Test
  @Order(14)
  void aChallengeHandedOutWithATaskMustBeOverThisPollsNonceAndFromTheEnclaveOfTheRound() throws Exception {
    AttestationRelayService host = new AttestationRelayService(currentEnclave, store); // what the host runs (issue 20 item 6)
    List<String> three = List.of("site-1", "site-2", "site-3");
    // an honest round first, so that this enclave instance has published the next round's base
    RoundTask warm = nextTask("handed-out-warm");
    published(aggregate(warm, honest("site-1", 10, warm), honest("site-2", 10, warm), honest("site-3", 10, warm)));

    // honest host: each site's challenge over its poll nonce comes with the task; no site asks for one
    RoundTask b = nextTask("handed-out");
    Map<String, ByteString> answers = new HashMap<>();
    int asked = CHALLENGE_REQUESTS.get();
    List<SealedUpdate> updates = new ArrayList<>();
    for (String site : three) {
      answers.put(site, host.challengeFor(b, sealer(site).pollNonce()));
      updates.add(handedOut(site, b, answers.get(site)));
    }
    assertThat(CHALLENGE_REQUESTS.get()).as("no site asked for the challenge itself").isEqualTo(asked);
    AggregateOutput out = aggregate(b, updates.toArray(SealedUpdate[]::new));
    assertThat(out.getAggregatedList()).containsExactlyElementsOf(three);
    published(out);

    // the host replays site-1's answer of the last round, and hands site-1's fresh answer to site-2: both
    // sites refuse them (neither is over the nonce of the poll that brought the task) and ask themselves
    RoundTask c = nextTask("handed-out-replayed");
    sealer("site-1").pollNonce();
    SealedUpdate u1 = handedOut("site-1", c, answers.get("site-1"));
    ByteString site3s = host.challengeFor(c, sealer("site-3").pollNonce());
    sealer("site-2").pollNonce();
    SealedUpdate u2 = handedOut("site-2", c, site3s);
    assertThat(CHALLENGE_REQUESTS.get()).isEqualTo(asked + 2);
    out = aggregate(c, u1, u2, handedOut("site-3", c, site3s));
    assertThat(out.getAggregatedList()).containsExactlyElementsOf(three);
    published(out);

    // an answer the host fetched from this instance, handed out after restarting the enclave: the site
    // still holds this instance's attested key and trains, but the restarted enclave refuses what it sent
    RoundTask d = nextTask("handed-out-restart");
    Map<String, ByteString> prefetched = new HashMap<>();
    for (String site : three) {
      prefetched.put(site, host.challengeFor(d, sealer(site).pollNonce()));
    }
    stack.close();
    stack = SecureAggregationStack.launch(setup, null, false);
    List<SealedUpdate> stale = new ArrayList<>();
    for (String site : three) {
      stale.add(handedOut(site, d, prefetched.get(site)));
    }
    openRound(d);
    AggregateOutput refused = aggregate(d, stale.toArray(SealedUpdate[]::new));
    assertThat(refused.getPublished()).isFalse();
    assertThat(refused.getRejectedMap()).hasSize(3)
        .allSatisfy((site, reason) -> assertThat(reason).startsWith("wrong_challenge:"));
    // and to a site that has attested the new instance, an answer of the old one does not verify: it asks itself
    RoundTask e = nextTask("handed-out-after-restart");
    // the new instance's answer does not verify under the old key: the site re-attests and asks
    handedOut("site-1", e, host.challengeFor(e, sealer("site-1").pollNonce()));
    int before = CHALLENGE_REQUESTS.get();
    sealer("site-1").pollNonce();
    handedOut("site-1", e, prefetched.get("site-1"));
    assertThat(CHALLENGE_REQUESTS.get()).as("the old instance's answer refused, the site asked").isEqualTo(before + 1);
  }

  @Test
  @Order(15)
  void aBaseNamedByReferenceIsOnlyTheModelTheEnclavePublishedLastAndARefusalLeavesTheRoundOpen() throws Exception {
    // the host names the round's base by version and artifact digest instead of resending its bytes; withholding
    // them must never let it make the enclave aggregate against any other base
    stack.close();
    stack = SecureAggregationStack.launch(setup, null, false);
    RoundTask first = nextTask("by-reference-1");
    List<SealedUpdate> firstUpdates = new ArrayList<>();
    for (String s : List.of("site-1", "site-2", "site-3")) {
      firstUpdates.add(honest(s, 10, first));
    }
    // a restarted enclave holds no model: the reference is refused, before the round's challenge is spent
    assertThatThrownBy(() -> aggregateByReference(first, first.getModel()))
        .hasMessageContaining("base_model_not_held:").hasMessageContaining("has published no model");
    AggregateOutput whole = aggregate(first, firstUpdates.toArray(SealedUpdate[]::new));
    assertThat(whole.getPublished()).as("the same round, its model sent in full").isTrue();
    ModelArtifact older = latest;
    published(whole);

    RoundTask next = nextTask("by-reference-2");
    List<SealedUpdate> updates = new ArrayList<>();
    for (String s : List.of("site-1", "site-2", "site-3")) {
      updates.add(honest(s, 10, next));
    }
    // an older version, or the latest version under another digest: refused, naming what is held
    assertThatThrownBy(() -> aggregateByReference(next, older))
        .hasMessageContaining("base_model_not_held:").hasMessageContaining("only that one is held");
    assertThatThrownBy(() -> aggregateByReference(next, latest.toBuilder()
        .setSha256(ByteString.copyFrom(new byte[32])).build()))
        .hasMessageContaining("base_model_not_held:").hasMessageContaining("with artifact sha256 "
            + java.util.HexFormat.of().formatHex(latest.getSha256().toByteArray()));
    // the published model, by reference: aggregated against it (the sites checked its digest in the challenge)
    AggregateOutput out = aggregateByReference(next, latest, updates.toArray(SealedUpdate[]::new));
    assertThat(out.getPublished()).isTrue();
    assertThat(out.getAggregatedList()).containsExactly("site-1", "site-2", "site-3");
    float[] base = stack.open(OBSERVER, latest, relayChannel);
    published(out);
    float[] model = stack.open(OBSERVER, latest, relayChannel);
    for (int i = 0; i < DIM; i++) {
      double mean = 0;
      for (String s : List.of("site-1", "site-2", "site-3")) {
        mean += values(s, next.getRound())[i] / 3.0;
      }
      assertThat((double) model[i]).isCloseTo(base[i] + mean, org.assertj.core.data.Offset.offset(1e-6));
    }
  }

  @Test
  @Order(16)
  void aPayloadTheHostAltersUnderABindingTwoStatementIsRefusedByTheBindingOrByDecryption() throws Exception {
    // statements bind the sealed payload by HPKE enc, length and every segment's GCM tag (binding 2), not by a
    // SHA-256 of the whole ciphertext: the host edits the payload under site-1's genuine statement
    byte[] chosen = FloatCodec.encode(new float[DIM]);
    chosen[0] = 0x3f; // the host's own values, sealed by the host to the enclave's attested key under site-1's context
    String[] expected = {"decryption_failed:", "payload_mismatch:", "payload_mismatch:", "payload_mismatch:"};
    String[] attack = {"a segment's ciphertext byte flipped (enc and tags intact)", "a tag byte flipped",
        "cut to a length no streaming message has", "sealed again by the host under a fresh enc"};
    for (int a = 0; a < attack.length; a++) {
      RoundTask task = nextTask("binding-" + a);
      SealedUpdate honest = honest("site-1", 10, task);
      assertThat(ContributionStatement.parseFrom(honest.getContribution().getStatement()).getPayloadBinding())
          .as("the site binds its payload with binding 2").isEqualTo(2);
      byte[] p = honest.getPayload().toByteArray();
      byte[] altered = switch (a) {
        case 0 -> flip(p, 32 + 7);
        case 1 -> flip(p, p.length - 1);
        case 2 -> java.util.Arrays.copyOf(p, p.length - 17);
        default -> new Hpke().sealStream(enclaveKey(), AggregationSession.UPDATE_INFO, AttestedHpkeSealer.aad(STUDY,
            task.getRound(), task.getRoundId(), "site-1", task.getModel().getVersion(), DIM), chosen);
      };
      AggregateOutput out = aggregate(task, honest.toBuilder().setPayload(ByteString.copyFrom(altered)).build(),
          honest("site-2", 10, task), honest("site-3", 10, task), honest("site-4", 10, task));
      assertThat(out.getRejectedMap().get("site-1")).as(attack[a]).startsWith(expected[a]);
      assertThat(out.getPublished()).as("the honest sites' round still completes").isTrue();
      assertThat(out.getAggregatedList()).containsExactly("site-2", "site-3", "site-4");
      published(out);
    }
  }

  static byte[] flip(byte[] b, int at) {
    byte[] c = b.clone();
    c[at] ^= 1;
    return c;
  }

  /** The enclave's HPKE key, from a verified attestation document (anyone can seal to it). */
  static byte[] enclaveKey() throws Exception {
    byte[] doc = SecureAggregatorGrpc.newBlockingStub(currentEnclave).getAttestation(AttestationRequest.newBuilder()
        .setStudyId(STUDY).setNonce(ByteString.copyFrom(new byte[32])).build()).getEvidence().getEvidence().toByteArray();
    return new NitroAttestationVerifier(Pem.readCertificate(setup.devRootCert()))
        .verify(doc, VerificationPolicy.at(Instant.now())).publicKey().orElseThrow();
  }

  // ------------------------------------------------------------------ helpers

  /** Round challenge requests sites made through the relay (not counting those handed out with tasks). */
  static final java.util.concurrent.atomic.AtomicInteger CHALLENGE_REQUESTS = new java.util.concurrent.atomic.AtomicInteger();

  static io.grpc.ServerInterceptor countChallengeRequests() {
    return new io.grpc.ServerInterceptor() {
      @Override
      public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, Metadata headers,
                                                                 io.grpc.ServerCallHandler<Q, R> next) {
        if (call.getMethodDescriptor().getBareMethodName().equals("GetRoundChallenge")) {
          CHALLENGE_REQUESTS.incrementAndGet();
        }
        return next.startCall(call, headers);
      }
    };
  }

  /** What honest site {@code site} sends when the host handed it {@code challenge} with the task (as the agent does). */
  static SealedUpdate handedOut(String site, RoundTask task, ByteString challenge) {
    sealer(site).openGlobalModel(task, DIM, UpdateSealer.Attached.challenge(challenge));
    return sealedAfterOpening(site, 10, task);
  }

  /** An Aggregate call whose header names {@code base} by reference: its version and digest, no payload. */
  static AggregateOutput aggregateByReference(RoundTask t, ModelArtifact base, SealedUpdate... updates) throws Exception {
    RoundTask named = t.toBuilder().setModel(base.toBuilder().clearPayload()).build();
    return SecureAggregationTest.aggregate(SecureAggregatorGrpc.newStub(currentEnclave),
        SecureAggregationTest.header(named), updates);
  }

  static RoundTask nextTask(String id) {
    return RoundTask.newBuilder().setStudyId(STUDY).setRound(++roundNumber).setRoundId(id).setModel(latest).build();
  }

  static UpdateSealer sealer(String site) {
    return sealers.computeIfAbsent(site, s -> stack.sealer(s, relayChannel));
  }

  /** Deterministic update values of a site in a round (small: within the policy's norm bound). */
  static float[] values(String site, int round) {
    Random r = new Random(site.hashCode() * 1_000_003L + round);
    float[] d = new float[DIM];
    for (int i = 0; i < DIM; i++) {
      d[i] = (float) (r.nextGaussian() * 0.01);
    }
    return d;
  }

  /** What honest site {@code site} sends (real site code: its sealer fetches and checks the challenge). */
  static SealedUpdate honest(String site, long examples, RoundTask task) {
    sealer(site).openGlobalModel(task, DIM); // as the site agent does: open the model, check it against the challenge
    return sealedAfterOpening(site, examples, task);
  }

  /** The sealed, signed update of a site that opened the task's model. */
  static SealedUpdate sealedAfterOpening(String site, long examples, RoundTask task) {
    float[] v = values(site, task.getRound());
    UpdateSealer.Sealed sealed = sealer(site).seal(task, v);
    IssuedCertificate cert = certs.get(site);
    SpendSigner signer = new SpendSigner(site, cert.privateKey(), cert.certificate(), 1e-5, "ds-" + site);
    SignedSpend spend = signer.sign(task, LocalUpdate.nonPrivate(v, examples, Map.of()));
    return SealedUpdate.newBuilder().setSiteId(site).setNumExamples(examples)
        .setBaseModelVersion(task.getModel().getVersion()).setPayloadFormat(sealed.format())
        .setPayload(ByteString.copyFrom(sealed.payload()))
        .setContribution(signer.signContribution(task, examples, sealed.format(), sealed.payload(),
            sealed.roundChallenge(), sealed.baseModelSha256(), spend)).build();
  }

  /**
   * An update the host makes itself under {@code site}'s name: sealed to the enclave's attested key
   * (anyone can), with a statement signed by {@code cert} (none if null) carrying the real challenge.
   */
  static SealedUpdate fabricated(String site, RoundTask task, IssuedCertificate cert) throws Exception {
    SecureAggregatorGrpc.SecureAggregatorBlockingStub enclave = SecureAggregatorGrpc.newBlockingStub(currentEnclave);
    byte[] nonce = new byte[32];
    byte[] doc = enclave.getAttestation(AttestationRequest.newBuilder().setStudyId(STUDY)
        .setNonce(ByteString.copyFrom(nonce)).build()).getEvidence().getEvidence().toByteArray();
    byte[] pk = new NitroAttestationVerifier(Pem.readCertificate(setup.devRootCert()))
        .verify(doc, VerificationPolicy.at(Instant.now())).publicKey().orElseThrow();
    float[] chosen = new float[DIM];
    chosen[0] = 0.5f; // the host's chosen step
    byte[] payload = new Hpke().sealStream(pk, AggregationSession.UPDATE_INFO, AttestedHpkeSealer.aad(STUDY,
        task.getRound(), task.getRoundId(), site, task.getModel().getVersion(), DIM), FloatCodec.encode(chosen));
    SealedUpdate.Builder u = SealedUpdate.newBuilder().setSiteId(site).setNumExamples(1000)
        .setBaseModelVersion(task.getModel().getVersion()).setPayloadFormat(AttestedHpkeSealer.UPDATE_FORMAT)
        .setPayload(ByteString.copyFrom(payload));
    if (cert != null) {
      RoundChallenge rc = enclave.getRoundChallenge(request(task));
      byte[] challenge = org.cloister.protocol.v1.RoundChallengeBody.parseFrom(rc.getBody()).getChallenge().toByteArray();
      byte[] statement = ContributionStatement.newBuilder().setStudyId(STUDY).setRound(task.getRound())
          .setRoundId(task.getRoundId()).setRoundChallenge(ByteString.copyFrom(challenge))
          .setBaseModelVersion(task.getModel().getVersion()).setSiteId(site).setNumExamples(1000)
          .setSpendSha256(ByteString.copyFrom(new byte[32])).setPayloadFormat(AttestedHpkeSealer.UPDATE_FORMAT)
          .setPayloadSha256(ByteString.copyFrom(FloatCodec.sha256(payload))).build().toByteArray();
      u.setContribution(SignedContribution.newBuilder().setStatement(ByteString.copyFrom(statement))
          .setSignature(ByteString.copyFrom(SpendSignatures.sign(statement, cert.privateKey())))
          .setCertificate(ByteString.copyFrom(cert.certificate().getEncoded())));
    }
    return u.build();
  }

  static RoundChallengeRequest request(RoundTask t) {
    byte[] nonce = new byte[16];
    new SecureRandom().nextBytes(nonce);
    return RoundChallengeRequest.newBuilder().setStudyId(t.getStudyId()).setRound(t.getRound())
        .setRoundId(t.getRoundId()).setBaseModelVersion(t.getModel().getVersion())
        .setNonce(ByteString.copyFrom(nonce)).build();
  }

  static void openRound(RoundTask t) {
    SecureAggregatorGrpc.newBlockingStub(currentEnclave).getRoundChallenge(request(t));
  }

  /** Stores what the enclave published and makes it the next round's base. */
  static void published(AggregateOutput out) {
    store.putArtifact(out.getModel());
    for (SealedModelCopy c : out.getCopiesList()) {
      store.putCopy(c);
    }
    latest = out.getModel();
  }

  /** The hostile host's Aggregate call, straight to the enclave. */
  static AggregateOutput aggregate(RoundTask t, SealedUpdate... updates) throws Exception {
    return SecureAggregationTest.aggregate(SecureAggregatorGrpc.newStub(currentEnclave), SecureAggregationTest.header(t),
        updates);
  }

  /** A relay that answers every message of type {@code type} with {@code replacement}. */
  static <T> ClientInterceptor replaceAnswers(Class<T> type, T replacement) {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> m, CallOptions o, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(m, o)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
              @Override
              @SuppressWarnings("unchecked")
              public void onMessage(R message) {
                super.onMessage(type.isInstance(message) ? (R) replacement : message);
              }
            }, headers);
          }
        };
      }
    };
  }
}

package org.cloister.site.sealing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.util.Map;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.AttestationRelayGrpc;
import org.cloister.protocol.v1.AttestationRequest;
import org.cloister.protocol.v1.AttestationResponse;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ModelCopyAad;
import org.cloister.protocol.v1.RoundChallenge;
import org.cloister.protocol.v1.RoundChallengeBody;
import org.cloister.protocol.v1.RoundChallengeRequest;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.protocol.v1.SealedModelRequest;
import org.cloister.site.agent.UpdateSealer.Attached;
import org.cloister.trust.attestation.EnclaveSignatures;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.attestation.nitro.SimulatedPcrs;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The site's sealing against real attestation documents (development authority, Nitro format) and
 * real HPKE, with the coordinator's relay played by a small gRPC server on loopback that can
 * misbehave (replay an old document, front an enclave with other measurements).
 */
class AttestedHpkeSealerTest {
  static final Hpke HPKE = new Hpke();
  /** Test double of SEV-SNP hardware (our own AMD-format key hierarchy). */
  static final org.cloister.trust.attestation.snp.SimulatedSnpPlatform SNP;
  static final byte[] SNP_MEASUREMENT = new byte[48];

  static {
    try {
      SNP = new org.cloister.trust.attestation.snp.SimulatedSnpPlatform(19);
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
    java.util.Arrays.fill(SNP_MEASUREMENT, (byte) 0x5a);
  }
  final SecureRandom random = new SecureRandom();
  final DevelopmentAttestationAuthority authority = DevelopmentAttestationAuthority.generate(Clock.systemUTC(), random);
  final Map<Integer, byte[]> pcrs = Map.of(0, SimulatedPcrs.measure("enclave image".getBytes()),
      1, SimulatedPcrs.measure("config".getBytes()), 2, SimulatedPcrs.measure("policy".getBytes()));
  final HpkeKeyPair enclave = HPKE.generateKeyPair();
  final HpkeKeyPair siteKey = HPKE.generateKeyPair();

  static KeyPair p256() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The coordinator's relay as a test double in front of a simulated enclave (with its attested signing key). */
  final class Relay extends AttestationRelayGrpc.AttestationRelayImplBase {
    volatile Map<Integer, byte[]> enclavePcrs = pcrs;
    volatile DevelopmentAttestationAuthority signer = authority;
    volatile KeyPair enclaveSigning = p256();
    /** Signs challenges with this key instead (a host forging them), when set. */
    volatile KeyPair challengeSigner;
    volatile boolean replay;
    volatile String wire = "v2";
    /** In wire "sev-snp": the HPKE key the host puts beside the report instead of the enclave's, when set. */
    volatile byte[] substitutedHpkeKey;
    volatile byte[] snpMeasurement = SNP_MEASUREMENT;
    volatile byte[] last;
    volatile RoundChallenge replayChallenge;
    volatile SealedModelCopy copy;
    final byte[] challenge = new byte[32];
    /** The base model digest the enclave names in its challenges; null: the one the request names. */
    volatile byte[] namedBase;
    int attestations;
    /** Round challenge requests the site made itself (not counting challenges handed out with tasks). */
    volatile int challengeRequests;
    volatile int copyFetches;

    Relay() {
      random.nextBytes(challenge);
    }

    @Override
    public void getAttestation(AttestationRequest req, StreamObserver<AttestationResponse> out) {
      attestations++;
      if (wire.equals("sev-snp")) {
        out.onNext(AttestationResponse.newBuilder().setEvidence(snpEvidence(req.getNonce().toByteArray())).build());
        out.onCompleted();
        return;
      }
      byte[] doc = replay && last != null ? last
          : signer.issue("enclave", enclavePcrs, req.getNonce().toByteArray(),
              EnclaveSignatures.userData(enclaveSigning.getPublic()), enclave.publicKey());
      last = doc;
      AttestationResponse.Builder r = AttestationResponse.newBuilder();
      switch (wire) {
        case "v1" -> r.setLegacyDocument(ByteString.copyFrom(doc));
        case "tdx" -> r.setEvidence(org.cloister.protocol.EvidenceWire.nitro(doc).toBuilder().setPlatform("tdx"));
        default -> r.setEvidence(org.cloister.protocol.EvidenceWire.nitro(doc));
      }
      out.onNext(r.build());
      out.onCompleted();
    }

    /** What an enclave on a (simulated) SEV-SNP guest sends: the report binding the nonce and both keys. */
    org.cloister.protocol.v1.Evidence snpEvidence(byte[] nonce) {
      try {
        byte[] spki = EnclaveSignatures.userData(enclaveSigning.getPublic());
        byte[] report = replay && lastSnp != null ? lastSnp : SNP.report(
            org.cloister.trust.attestation.ReportDataBinding.reportData(nonce, enclave.publicKey(), spki),
            snpMeasurement, org.cloister.trust.attestation.snp.SimulatedSnpPlatform.POLICY);
        lastSnp = report;
        return org.cloister.protocol.EvidenceWire.confidentialVm("sev-snp", report, SNP.chainDer(),
            substitutedHpkeKey != null ? substitutedHpkeKey : enclave.publicKey(), spki);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }

    volatile byte[] lastSnp;

    @Override
    public void getRoundChallenge(RoundChallengeRequest req, StreamObserver<RoundChallenge> out) {
      challengeRequests++;
      if (replayChallenge != null) {
        out.onNext(replayChallenge);
        out.onCompleted();
        return;
      }
      byte[] body = RoundChallengeBody.newBuilder().setStudyId(req.getStudyId()).setRound(req.getRound())
          .setRoundId(req.getRoundId()).setBaseModelVersion(req.getBaseModelVersion())
          .setChallenge(ByteString.copyFrom(challenge))
          // like the enclave's group signature: this request's nonce among other verifiers'
          .addNonces(ByteString.copyFrom(new byte[] {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}))
          .addNonces(req.getNonce())
          // like the enclave with nothing published: it names (pins) the digest asked with, unless told otherwise
          .setBaseModelSha256(namedBase != null ? ByteString.copyFrom(namedBase) : req.getBaseModelSha256())
          .build().toByteArray();
      KeyPair k = challengeSigner != null ? challengeSigner : enclaveSigning;
      out.onNext(RoundChallenge.newBuilder().setBody(ByteString.copyFrom(body)).setSignature(ByteString.copyFrom(
          EnclaveSignatures.sign(k.getPrivate(), AttestedHpkeSealer.ROUND_CHALLENGE_PURPOSE, body))).build());
      out.onCompleted();
    }

    @Override
    public void fetchSealedModel(SealedModelRequest req, StreamObserver<SealedModelCopy> out) {
      copyFetches++;
      out.onNext(copy.toBuilder().setMemberId(req.getMemberId()).build());
      out.onCompleted();
    }
  }

  Relay relay;
  Server server;
  ManagedChannel channel;
  AttestedHpkeSealer sealer;

  @BeforeEach
  void start() throws Exception {
    relay = new Relay();
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(relay).build().start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    sealer = new AttestedHpkeSealer(channel, "site-2", new NitroAttestationVerifier(authority.rootCertificate()), pcrs,
        new SealedModelOpener(channel, "site-2", siteKey), Clock.systemUTC(), random);
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  static RoundTask task(long version) {
    return RoundTask.newBuilder().setStudyId("s").setRound(4).setRoundId("r-4")
        .setModel(ModelArtifact.newBuilder().setStudyId("s").setVersion(version).setModelName("logreg").setDimension(3))
        .build();
  }

  @Test
  void sealsToTheAttestedKeyBoundToStudyRoundSiteAndVersion() throws Exception {
    float[] delta = {0.25f, -1f, 3f};
    var sealed = sealer.seal(task(5), delta);
    assertThat(sealed.format()).isEqualTo("hpke-x25519-aes256gcm-stream4k-v1");
    byte[] aad = AttestedHpkeSealer.aad("s", 4, "r-4", "site-2", 5, 3);
    byte[] plain = HPKE.openStream(enclave, sealed.payload(), AttestedHpkeSealer.UPDATE_INFO, aad);
    assertThat(FloatCodec.decode(plain, 3)).containsExactly(delta);
    assertThat(sealed.roundChallenge()).as("the enclave's verified challenge, for the signed statement")
        .containsExactly(relay.challenge);
    // relabelled as another site's: does not open
    assertThatThrownBy(() -> HPKE.openStream(enclave, sealed.payload(), AttestedHpkeSealer.UPDATE_INFO,
        AttestedHpkeSealer.aad("s", 4, "r-4", "site-3", 5, 3))).hasMessageContaining("authentication tag mismatch");
  }

  @Test
  void theOldNitroOnlyWireFormAndUnboundPlatformsAreRefused() {
    relay.wire = "v1"; // an enclave (or host) still speaking attestation wire form v1
    assertThatThrownBy(() -> sealer.seal(task(5), new float[] {1, 2, 3}))
        .isInstanceOf(SealingException.class).hasMessageContaining("wire form v1").hasMessageContaining("not sending");
    relay.wire = "tdx"; // a host relabelling a Nitro document as TDX evidence to a site that pins Nitro
    assertThatThrownBy(() -> sealer.seal(task(5), new float[] {1, 2, 3}))
        .isInstanceOf(SealingException.class).hasMessageContaining("'tdx' evidence");
  }

  AttestedHpkeSealer snpSealer(byte[] pinnedMeasurement) {
    var pins = new org.cloister.trust.attestation.MeasurementPins(org.cloister.trust.attestation.TeePlatform.SEV_SNP,
        Map.of("measurement", pinnedMeasurement), false);
    var verifier = new org.cloister.trust.attestation.BoundEvidenceVerifier(java.util.List.of(org.cloister.trust.attestation.snp.SnpVerifier.development(SNP.ark())), pins,
        org.cloister.trust.attestation.Collateral.empty());
    return new AttestedHpkeSealer(channel, "site-2", verifier, new SealedModelOpener(channel, "site-2", siteKey),
        Clock.fixed(java.time.Instant.parse("2026-06-01T00:00:00Z"), java.time.ZoneOffset.UTC), random);
  }

  @Test
  void anEnclaveOnSevSnpIsTrustedWithTheKeysItsReportBinds() throws Exception {
    relay.wire = "sev-snp";
    AttestedHpkeSealer snp = snpSealer(SNP_MEASUREMENT);
    float[] delta = {0.5f, 2f, -3f};
    var sealed = snp.seal(task(5), delta);
    byte[] plain = HPKE.openStream(enclave, sealed.payload(), AttestedHpkeSealer.UPDATE_INFO,
        AttestedHpkeSealer.aad("s", 4, "r-4", "site-2", 5, 3));
    assertThat(FloatCodec.decode(plain, 3)).containsExactly(delta);
    assertThat(sealed.roundChallenge()).containsExactly(relay.challenge);
  }

  @Test
  void onSevSnpASubstitutedKeyAReplayedReportAnotherImageOrANitroDocumentAreRefused() {
    relay.wire = "sev-snp";
    relay.substitutedHpkeKey = HPKE.generateKeyPair().publicKey(); // the host's own key beside a genuine report
    assertThatThrownBy(() -> snpSealer(SNP_MEASUREMENT).seal(task(5), new float[] {1, 2, 3}))
        .isInstanceOf(SealingException.class).hasMessageContaining("NONCE_MISMATCH").hasMessageContaining("substituted");
    relay.substitutedHpkeKey = null;
    snpSealer(SNP_MEASUREMENT).seal(task(5), new float[] {1, 2, 3});
    relay.replay = true; // the previous report (another nonce)
    assertThatThrownBy(() -> snpSealer(SNP_MEASUREMENT).seal(task(5), new float[] {1, 2, 3}))
        .hasMessageContaining("NONCE_MISMATCH");
    relay.replay = false;
    byte[] other = SNP_MEASUREMENT.clone();
    other[0] ^= 1;
    assertThatThrownBy(() -> snpSealer(other).seal(task(5), new float[] {1, 2, 3}))
        .hasMessageContaining("MEASUREMENT_MISMATCH");
    relay.wire = "v2"; // a Nitro (simulated) document to a site that pins SEV-SNP
    assertThatThrownBy(() -> snpSealer(SNP_MEASUREMENT).seal(task(5), new float[] {1, 2, 3}))
        .hasMessageContaining("POLICY_VIOLATION").hasMessageContaining("pins sev-snp");
  }

  @Test
  void aReplayedAttestationDocumentIsRefused() {
    sealer.seal(task(5), new float[] {1, 2, 3});
    relay.replay = true; // the host answers the next request with the previous document (old nonce)
    AttestedHpkeSealer another = new AttestedHpkeSealer(channel, "site-2",
        new NitroAttestationVerifier(authority.rootCertificate()), pcrs, new SealedModelOpener(channel, "site-2", siteKey),
        Clock.systemUTC(), random);
    assertThatThrownBy(() -> another.seal(task(5), new float[] {1, 2, 3}))
        .isInstanceOf(SealingException.class).hasMessageContaining("NONCE_MISMATCH").hasMessageContaining("not sending");
  }

  @Test
  void theAttestationIsVerifiedOncePerEnclaveInstanceAndEveryRoundsChallengeUnderItsKey() {
    for (int i = 0; i < 3; i++) {
      sealer.seal(task(5 + i), new float[] {1, 2, 3});
    }
    assertThat(relay.attestations).isEqualTo(1);
    assertThat(sealer.attestationsVerified()).isEqualTo(1);
    // a restarted enclave (new signing key): the cached key fails, the site re-attests once and goes on
    relay.enclaveSigning = p256();
    sealer.seal(task(8), new float[] {1, 2, 3});
    assertThat(sealer.attestationsVerified()).isEqualTo(2);
  }

  @Test
  void aChallengeForgedByTheHostOrReplayedOrARolledBackBaseIsRefused() {
    sealer.seal(task(5), new float[] {1, 2, 3});
    // signed by a key the host made: not the attested one, even after re-attesting
    relay.challengeSigner = p256();
    assertThatThrownBy(() -> sealer.seal(task(6), new float[] {1, 2, 3}))
        .hasMessageContaining("not signed by the attested enclave's key");
    relay.challengeSigner = null;
    // a genuine challenge from earlier, replayed: it does not carry this request's nonce
    byte[] body = RoundChallengeBody.newBuilder().setStudyId("s").setRound(4).setRoundId("r-4").setBaseModelVersion(6)
        .setChallenge(ByteString.copyFrom(relay.challenge)).setNonce(ByteString.copyFrom(new byte[32])).build().toByteArray();
    relay.replayChallenge = RoundChallenge.newBuilder().setBody(ByteString.copyFrom(body)).setSignature(ByteString.copyFrom(
        EnclaveSignatures.sign(relay.enclaveSigning.getPrivate(), AttestedHpkeSealer.ROUND_CHALLENGE_PURPOSE, body))).build();
    assertThatThrownBy(() -> sealer.seal(task(6), new float[] {1, 2, 3})).hasMessageContaining("does not echo this site's nonce");
    // a genuine group signature that answered other verifiers' requests (this site's nonce is not among them)
    byte[] group = RoundChallengeBody.newBuilder().setStudyId("s").setRound(4).setRoundId("r-4").setBaseModelVersion(6)
        .setChallenge(ByteString.copyFrom(relay.challenge)).addNonces(ByteString.copyFrom(new byte[32]))
        .addNonces(ByteString.copyFrom(new byte[16])).build().toByteArray();
    relay.replayChallenge = RoundChallenge.newBuilder().setBody(ByteString.copyFrom(group)).setSignature(ByteString.copyFrom(
        EnclaveSignatures.sign(relay.enclaveSigning.getPrivate(), AttestedHpkeSealer.ROUND_CHALLENGE_PURPOSE, group))).build();
    assertThatThrownBy(() -> sealer.seal(task(6), new float[] {1, 2, 3})).hasMessageContaining("does not echo this site's nonce");
    relay.replayChallenge = null;
    // the host offers an older model than one this site already trained from
    sealer.seal(task(7), new float[] {1, 2, 3});
    assertThatThrownBy(() -> sealer.seal(task(6), new float[] {1, 2, 3})).hasMessageContaining("refusing a rollback");
  }

  @Test
  void anEnclaveWithOtherMeasurementsOrAForeignRootIsRefused() {
    relay.enclavePcrs = Map.of(0, SimulatedPcrs.measure("modified enclave image".getBytes()), 1, pcrs.get(1), 2, pcrs.get(2));
    assertThatThrownBy(() -> sealer.seal(task(5), new float[] {1, 2, 3})).hasMessageContaining("PCR_MISMATCH");
    relay.enclavePcrs = pcrs;
    relay.signer = DevelopmentAttestationAuthority.generate(Clock.systemUTC(), random); // a root with the same name, other key
    assertThatThrownBy(() -> sealer.seal(task(5), new float[] {1, 2, 3})).hasMessageContaining("BAD_SIGNATURE");
  }

  @Test
  void refusesToTrainOnAModelWhoseDigestIsNotTheOneTheEnclaveNamed() {
    float[] weights = {1f, 2f, 3f};
    RoundTask initial = task(1).toBuilder().setModel(task(1).getModel().toBuilder().setFormat("f32le")
        .setPayload(ByteString.copyFrom(FloatCodec.encode(weights)))).build();
    byte[] named = FloatCodec.sha256(FloatCodec.encode(new float[] {1f, 2f, 4f}));
    relay.namedBase = named;
    assertThatThrownBy(() -> sealer.openGlobalModel(initial, 3)).isInstanceOf(SealingException.class)
        .hasMessageContaining("refusing to train on it")
        .hasMessageContaining(java.util.HexFormat.of().formatHex(named))
        .hasMessageContaining(java.util.HexFormat.of().formatHex(FloatCodec.sha256(FloatCodec.encode(weights))));
    relay.namedBase = null;
    assertThat(sealer.openGlobalModel(initial, 3)).containsExactly(weights);
    assertThat(sealer.seal(initial, new float[] {0f, 0f, 0f}).baseModelSha256())
        .as("the digest the statement binds").containsExactly(FloatCodec.sha256(FloatCodec.encode(weights)));
  }

  @Test
  void opensOnlyItsOwnSealedCopyAndPlaintextOnlyForTheInitialModel() throws Exception {
    float[] weights = {1f, 2f, 3f};
    RoundTask initial = task(1).toBuilder().setModel(task(1).getModel().toBuilder().setFormat("f32le")
        .setPayload(ByteString.copyFrom(FloatCodec.encode(weights)))).build();
    assertThat(sealer.openGlobalModel(initial, 3)).containsExactly(weights);
    RoundTask plainLater = task(6).toBuilder().setModel(initial.getModel().toBuilder().setVersion(6)).build();
    assertThatThrownBy(() -> sealer.openGlobalModel(plainLater, 3)).hasMessageContaining("refusing a plaintext global model");

    // the artifact: weights under a content key (independently built here with the JDK's AES-GCM)
    byte[] contentKey = new byte[32];
    random.nextBytes(contentKey);
    byte[] nonce = new byte[12];
    byte[] artifactAad = org.cloister.protocol.v1.ModelArtifactAad.newBuilder().setStudyId("s").setVersion(6)
        .setModelName("logreg").setDimension(3).setKeyId("model-key").build().toByteArray();
    javax.crypto.Cipher gcm = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
    gcm.init(javax.crypto.Cipher.ENCRYPT_MODE, new javax.crypto.spec.SecretKeySpec(contentKey, "AES"),
        new javax.crypto.spec.GCMParameterSpec(128, nonce));
    byte[] segmentAad = java.util.Arrays.copyOf(artifactAad, artifactAad.length + 1);
    segmentAad[artifactAad.length] = 1; // the streaming form's only (so final) segment: aad || 1
    gcm.updateAAD(segmentAad);
    org.cloister.protocol.v1.EncryptedModel envelope = org.cloister.protocol.v1.EncryptedModel.newBuilder()
        .setKeyId("model-key").setNonce(ByteString.copyFrom(nonce))
        .setCiphertext(ByteString.copyFrom(gcm.doFinal(FloatCodec.encode(weights)))).build();
    RoundTask sealedTask = task(6).toBuilder().setModel(task(6).getModel().toBuilder()
        .setFormat(SealedModelOpener.ARTIFACT_FORMAT).setPayload(envelope.toByteString())).build();
    byte[] aad = ModelCopyAad.newBuilder().setStudyId("s").setVersion(6).setMemberId("site-2").setModelName("logreg")
        .setDimension(3).build().toByteArray();
    relay.copy = SealedModelCopy.newBuilder().setStudyId("s").setVersion(6).setFormat(SealedModelOpener.COPY_FORMAT)
        .setPayload(ByteString.copyFrom(HPKE.seal(siteKey.publicKey(), SealedModelOpener.COPY_INFO, aad,
            contentKey))).build();
    assertThat(sealer.openGlobalModel(sealedTask, 3)).containsExactly(weights);

    // an artifact relabelled with another version does not decrypt with version 6's key
    RoundTask relabelled = sealedTask.toBuilder().setModel(sealedTask.getModel().toBuilder()
        .setPayload(envelope.toBuilder().setKeyId("other-key").build().toByteString())).build();
    assertThatThrownBy(() -> sealer.openGlobalModel(relabelled, 3)).isInstanceOf(SealingException.class)
        .hasMessageContaining("does not decrypt");

    // a copy sealed to another member's key does not open here
    relay.copy = relay.copy.toBuilder().setPayload(ByteString.copyFrom(HPKE.seal(HPKE.generateKeyPair().publicKey(),
        SealedModelOpener.COPY_INFO, aad, contentKey))).build();
    assertThatThrownBy(() -> sealer.openGlobalModel(sealedTask, 3)).isInstanceOf(SealingException.class)
        .hasMessageContaining("does not open for member site-2");
  }

  // ------------------------------------------------ the challenge handed out with the task (issue 20 item 6)

  /** Round 4's task on the public initial weights {1, 2, 3} (version 1). */
  static RoundTask initialTask(String roundId) {
    return task(1).toBuilder().setRoundId(roundId).setModel(task(1).getModel().toBuilder().setFormat("f32le")
        .setPayload(ByteString.copyFrom(FloatCodec.encode(new float[] {1f, 2f, 3f})))).build();
  }

  /** A challenge for {@code t} over {@code nonces}, signed with {@code k}, as the enclave answers through the host. */
  ByteString signed(KeyPair k, RoundTask t, byte[] challenge, byte[]... nonces) {
    RoundChallengeBody.Builder b = RoundChallengeBody.newBuilder().setStudyId(t.getStudyId()).setRound(t.getRound())
        .setRoundId(t.getRoundId()).setBaseModelVersion(t.getModel().getVersion())
        .setChallenge(ByteString.copyFrom(challenge))
        .setBaseModelSha256(ByteString.copyFrom(FloatCodec.sha256(t.getModel().getPayload())));
    for (byte[] n : nonces) {
      b.addNonces(ByteString.copyFrom(n));
    }
    byte[] body = b.build().toByteArray();
    return RoundChallenge.newBuilder().setBody(ByteString.copyFrom(body)).setSignature(ByteString.copyFrom(
        EnclaveSignatures.sign(k.getPrivate(), AttestedHpkeSealer.ROUND_CHALLENGE_PURPOSE, body))).build().toByteString();
  }

  @Test
  void aChallengeHandedOutWithTheTaskOverThisPollsNonceIsUsedWithoutAskingTheEnclave() {
    RoundTask t = initialTask("r-4");
    byte[] nonce = sealer.pollNonce().toByteArray();
    byte[] challenge = new byte[32];
    random.nextBytes(challenge);
    // a group signature: another site's nonce beside this one's
    ByteString attached = signed(relay.enclaveSigning, t, challenge, new byte[32], nonce);
    assertThat(sealer.openGlobalModel(t, 3, Attached.challenge(attached))).containsExactly(1f, 2f, 3f);
    var sealed = sealer.seal(t, new float[] {0f, 0f, 0f});
    assertThat(sealed.roundChallenge()).as("the statement binds the challenge handed out with the task")
        .containsExactly(challenge);
    assertThat(relay.challengeRequests).as("no round trip to the enclave for the challenge").isZero();
  }

  @Test
  void aChallengeHandedOutWithTheTaskIsRefusedWhenStaleForeignForgedOrForAnotherRoundAndTheSiteAsksItself() throws Exception {
    RoundTask t = initialTask("r-4");
    byte[] challenge = new byte[32];
    random.nextBytes(challenge);
    byte[] first = sealer.pollNonce().toByteArray();
    ByteString earlier = signed(relay.enclaveSigning, t, challenge, first);
    sealer.openGlobalModel(t, 3, Attached.challenge(earlier));

    RoundTask next = initialTask("r-5").toBuilder().setRound(5).build();
    byte[] nonce = sealer.pollNonce().toByteArray();
    // replayed from an earlier poll (the previous round's answer): not over this poll's nonce
    assertThatThrownBy(() -> sealer.attachedChallenge(next, earlier, nonce))
        .isInstanceOf(AttestedHpkeSealer.AttachedChallengeRefused.class).hasMessageContaining("does not echo this site's nonce");
    // another site's answer (its own nonce only)
    byte[] other = new byte[32];
    random.nextBytes(other);
    assertThatThrownBy(() -> sealer.attachedChallenge(next, signed(relay.enclaveSigning, next, challenge, other), nonce))
        .hasMessageContaining("does not echo this site's nonce");
    // over this nonce, but for another round id (the host hands round 5's task with round 4's challenge)
    assertThatThrownBy(() -> sealer.attachedChallenge(next, signed(relay.enclaveSigning, t, challenge, nonce), nonce))
        .hasMessageContaining("not the task's round 5 (id r-5)");
    // signed by a key that is not the attested one (another enclave instance, or the host's own)
    assertThatThrownBy(() -> sealer.attachedChallenge(next, signed(p256(), next, challenge, nonce), nonce))
        .hasMessageContaining("not signed by the attested enclave's key");
    assertThatThrownBy(() -> sealer.attachedChallenge(next, ByteString.copyFromUtf8("not a challenge"), nonce))
        .hasMessageContaining("does not parse");
    // each of them handed out with the task: refused, and the site asks the enclave itself (fresh nonce) and goes on
    int asked = relay.challengeRequests;
    for (ByteString bad : java.util.List.of(earlier, signed(relay.enclaveSigning, next, challenge, other),
        signed(p256(), next, challenge, sealer.pollNonce().toByteArray()), ByteString.EMPTY)) {
      sealer.pollNonce();
      assertThat(sealer.openGlobalModel(next, 3, Attached.challenge(bad))).containsExactly(1f, 2f, 3f);
      assertThat(sealer.seal(next, new float[] {0f, 0f, 0f}).roundChallenge()).as("the enclave's own answer")
          .containsExactly(relay.challenge);
    }
    assertThat(relay.challengeRequests).isEqualTo(asked + 4);
  }

  @Test
  void aPollNonceServesOneTaskOnly() {
    RoundTask t = initialTask("r-4");
    byte[] nonce = sealer.pollNonce().toByteArray();
    ByteString attached = signed(relay.enclaveSigning, t, relay.challenge, nonce);
    sealer.openGlobalModel(t, 3, Attached.challenge(attached));
    assertThat(relay.challengeRequests).isZero();
    // the host hands the same task and answer again without a new poll: the nonce is spent, the site asks itself
    sealer.openGlobalModel(t, 3, Attached.challenge(attached));
    assertThat(relay.challengeRequests).isEqualTo(1);
    // a newer poll replaces the nonce: an answer over the older one is refused
    byte[] older = sealer.pollNonce().toByteArray();
    sealer.pollNonce();
    sealer.openGlobalModel(t, 3, Attached.challenge(signed(relay.enclaveSigning, t, relay.challenge, older)));
    assertThat(relay.challengeRequests).isEqualTo(2);
  }

  @Test
  void aRolledBackBaseIsRefusedWhateverChallengeComesWithTheTask() {
    sealer.seal(task(7), new float[] {1, 2, 3});
    RoundTask t = initialTask("r-4");
    byte[] nonce = sealer.pollNonce().toByteArray();
    assertThatThrownBy(() -> sealer.openGlobalModel(t, 3, Attached.challenge(signed(relay.enclaveSigning, t, relay.challenge, nonce))))
        .isInstanceOf(SealingException.class).hasMessageContaining("refusing a rollback");
  }

  @Test
  void aSealedCopyHandedOutWithTheTaskIsOpenedWithoutFetchingAndCheckedAsAFetchedOne() throws Exception {
    float[] weights = {4f, 5f, 6f};
    byte[] contentKey = new byte[32];
    random.nextBytes(contentKey);
    byte[] nonce = new byte[12];
    byte[] artifactAad = org.cloister.protocol.v1.ModelArtifactAad.newBuilder().setStudyId("s").setVersion(6)
        .setModelName("logreg").setDimension(3).setKeyId("model-key").build().toByteArray();
    javax.crypto.Cipher gcm = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
    gcm.init(javax.crypto.Cipher.ENCRYPT_MODE, new javax.crypto.spec.SecretKeySpec(contentKey, "AES"),
        new javax.crypto.spec.GCMParameterSpec(128, nonce));
    byte[] segmentAad = java.util.Arrays.copyOf(artifactAad, artifactAad.length + 1);
    segmentAad[artifactAad.length] = 1;
    gcm.updateAAD(segmentAad);
    org.cloister.protocol.v1.EncryptedModel envelope = org.cloister.protocol.v1.EncryptedModel.newBuilder()
        .setKeyId("model-key").setNonce(ByteString.copyFrom(nonce))
        .setCiphertext(ByteString.copyFrom(gcm.doFinal(FloatCodec.encode(weights)))).build();
    RoundTask t = task(6).toBuilder().setModel(task(6).getModel().toBuilder()
        .setFormat(SealedModelOpener.ARTIFACT_FORMAT).setPayload(envelope.toByteString())).build();
    byte[] aad = ModelCopyAad.newBuilder().setStudyId("s").setVersion(6).setMemberId("site-2").setModelName("logreg")
        .setDimension(3).build().toByteArray();
    SealedModelCopy mine = SealedModelCopy.newBuilder().setStudyId("s").setVersion(6).setMemberId("site-2")
        .setFormat(SealedModelOpener.COPY_FORMAT).setPayload(ByteString.copyFrom(HPKE.seal(siteKey.publicKey(),
            SealedModelOpener.COPY_INFO, aad, contentKey))).build();
    relay.copy = mine;
    relay.namedBase = FloatCodec.sha256(FloatCodec.encode(weights));
    SealedModelOpener opener = new SealedModelOpener(channel, "site-2", siteKey);
    assertThat(opener.openWithDigest(t.getModel(), 3, mine.toByteString()).weights()).containsExactly(weights);
    assertThat(sealer.openGlobalModel(t, 3, new Attached(ByteString.EMPTY, mine.toByteString()))).containsExactly(weights);
    assertThat(relay.copyFetches).as("nothing fetched").isZero();
    // another member's copy, or another version's, is not used: this member's is fetched
    assertThat(opener.openWithDigest(t.getModel(), 3, mine.toBuilder().setMemberId("site-3").build().toByteString())
        .weights()).containsExactly(weights);
    assertThat(opener.openWithDigest(t.getModel(), 3, mine.toBuilder().setVersion(5).build().toByteString())
        .weights()).containsExactly(weights);
    assertThat(opener.openWithDigest(t.getModel(), 3, ByteString.copyFromUtf8("garbage")).weights()).containsExactly(weights);
    assertThat(relay.copyFetches).isEqualTo(3);
    // a copy in this member's name the host sealed itself (anyone can seal to the member's key) under its own
    // content key: refused exactly as a fetched one (the artifact does not decrypt with that key)
    byte[] hostKey = new byte[32];
    random.nextBytes(hostKey);
    SealedModelCopy forged = mine.toBuilder().setPayload(ByteString.copyFrom(HPKE.seal(siteKey.publicKey(),
        SealedModelOpener.COPY_INFO, aad, hostKey))).build();
    assertThatThrownBy(() -> opener.openWithDigest(t.getModel(), 3, forged.toByteString()))
        .isInstanceOf(SealingException.class).hasMessageContaining("does not decrypt with this member's key copy");
  }
}

package org.cloister.site.sealing;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.AttestationRelayGrpc;
import org.cloister.protocol.v1.AttestationRequest;
import org.cloister.protocol.v1.RoundChallenge;
import org.cloister.protocol.v1.RoundChallengeBody;
import org.cloister.protocol.v1.RoundChallengeRequest;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.UpdateAad;
import org.cloister.site.agent.UpdateSealer;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.AttestationVerifier;
import org.cloister.trust.attestation.BoundEvidenceVerifier;
import org.cloister.trust.attestation.EnclaveSignatures;
import org.cloister.trust.attestation.VerificationPolicy;
import org.cloister.trust.attestation.VerifiedAttestation;
import org.cloister.trust.attestation.nitro.AwsNitroRoot;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Seals each update to the attested secure aggregator. Once per enclave instance it asks (through
 * the coordinator's relay) for an attestation document carrying its own random nonce and verifies
 * the document's chain, its PCRs against the values the consortium expects and the nonce; the
 * document binds the enclave's HPKE key and its signing key. Every round it then asks for the
 * enclave's round challenge with a fresh nonce and checks the enclave's signature over both (so
 * freshness is kept without re-verifying the chain), and encrypts the update with HPKE (RFC 9180: X25519, HKDF-SHA256, AES-256-GCM) to the public key
 * the document binds. The associated data binds study, round, round id, site, base model version
 * and dimension, so the coordinator cannot relabel or replay it into another context. Global
 * models are opened with this site's sealing key ({@link SealedModelOpener}).
 */
public final class AttestedHpkeSealer implements UpdateSealer {
  /** Payload format of sealed updates: HPKE's context messages over 4096-byte segments ({@link Hpke#sealStream}). */
  public static final String UPDATE_FORMAT = "hpke-x25519-aes256gcm-stream4k-v1";
  static final byte[] UPDATE_INFO = "cloister/v1 update".getBytes(StandardCharsets.US_ASCII);
  private static final Logger log = LoggerFactory.getLogger(AttestedHpkeSealer.class);
  private static final int NONCE_BYTES = 32;
  /** Purpose of the enclave's round challenge signatures (the enclave's {@code ROUND_CHALLENGE_PURPOSE}). */
  static final String ROUND_CHALLENGE_PURPOSE = "round-challenge";
  /** A verified attestation is re-verified in full after this long (certificate validity, revocation by expiry). */
  public static final Duration REATTEST_AFTER = Duration.ofHours(1);

  /** Development roots this process has warned about: a simulation runs many sites in one JVM, one warning each. */
  private static final java.util.Set<java.security.cert.X509Certificate> WARNED_ROOTS =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private final AttestationRelayGrpc.AttestationRelayBlockingStub relay;
  private final String siteId;
  private final AttestationVerifier verifier;
  private final Map<Integer, byte[]> expectedPcrs;
  /** For an enclave on a confidential VM (SEV-SNP, TDX): the pinned measurements and collateral; else null. */
  private final BoundEvidenceVerifier confidentialVm;
  private final Clock clock;
  private final SecureRandom random;
  private final SealedModelOpener opener;
  private final AtomicInteger attestations = new AtomicInteger();
  private AttestedEnclave attested;
  private long highestBase;
  private Pending pending;
  /** The nonce sent with the latest poll (the challenge handed out with its task must name it); null: none. */
  private byte[] pollNonce;
  /** Fetches the next round's challenge while the model is opened (one daemon thread, started on first use). */
  private final java.util.concurrent.Executor prefetcher = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "round-challenge");
    t.setDaemon(true);
    return t;
  });

  /**
   * @param coordinator  channel to the coordinator (serves the attestation relay)
   * @param siteId       this site's identity as the coordinator's transport establishes it
   * @param verifier     attestation verifier with the consortium's trust root
   * @param expectedPcrs PCR values the consortium published for the enclave (at least PCR0..2)
   * @param opener       opens global models sealed to this site
   */
  public AttestedHpkeSealer(Channel coordinator, String siteId, AttestationVerifier verifier,
                            Map<Integer, byte[]> expectedPcrs, SealedModelOpener opener, Clock clock, SecureRandom random) {
    this.relay = AttestationRelayGrpc.newBlockingStub(coordinator);
    this.siteId = Objects.requireNonNull(siteId, "siteId");
    this.verifier = Objects.requireNonNull(verifier, "verifier");
    for (int i = 0; i <= 2; i++) {
      if (!expectedPcrs.containsKey(i)) {
        throw new IllegalArgumentException("expected PCR" + i + " is missing: the site must pin the enclave's code, "
            + "configuration and policy");
      }
    }
    TreeMap<Integer, byte[]> copy = new TreeMap<>();
    expectedPcrs.forEach((k, v) -> copy.put(k, v.clone()));
    this.expectedPcrs = copy;
    this.opener = Objects.requireNonNull(opener, "opener");
    if (verifier instanceof NitroAttestationVerifier n && !n.trustRoot().equals(AwsNitroRoot.certificate())
        && firstWarning(n.trustRoot())) {
      log.warn("site {} (and any other site of this process that trusts it: warned once) trusts a NON-AWS attestation"
          + " root ({}): enclave documents prove nothing about isolation. Development only: never with real patient data.",
          siteId, n.trustRoot().getSubjectX500Principal().getName());
    }
    this.confidentialVm = null;
    this.clock = clock;
    this.random = random;
  }

  /**
   * A sealer for an enclave on a confidential VM (SEV-SNP or TDX): its report must bind, in its report data, this
   * site's nonce and the HPKE and signing keys sent beside it ({@code ReportDataBinding}), and carry the
   * measurements {@code confidentialVm} pins; evidence of any other platform is refused.
   */
  public AttestedHpkeSealer(Channel coordinator, String siteId, BoundEvidenceVerifier confidentialVm,
                            SealedModelOpener opener, Clock clock, SecureRandom random) {
    this.relay = AttestationRelayGrpc.newBlockingStub(coordinator);
    this.siteId = Objects.requireNonNull(siteId, "siteId");
    this.verifier = null;
    this.expectedPcrs = Map.of();
    this.confidentialVm = Objects.requireNonNull(confidentialVm, "confidentialVm");
    this.opener = Objects.requireNonNull(opener, "opener");
    this.clock = clock;
    this.random = random;
  }

  private static final java.lang.invoke.VarHandle F32LE =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(float[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

  @Override
  public Sealed seal(RoundTask task, float[] delta) {
    Challenged c = prefetched(task);
    byte[] aad = aad(task.getStudyId(), task.getRound(), task.getRoundId(), siteId, task.getModel().getVersion(),
        delta.length);
    try {
      // the f32le encoding is written one 4 KiB segment at a time, just before that segment is encrypted (no whole
      // encoded copy of the update; the same bytes as sealing FloatCodec.encode(delta))
      byte[] sealed = new Hpke(random).sealStream(c.enclave().hpkePublicKey(), UPDATE_INFO, aad,
          delta.length * Float.BYTES, (buffer, len, position) -> {
            for (int i = 0, v = position / Float.BYTES; i < len; i += Float.BYTES, v++) {
              F32LE.set(buffer, i, delta[v]);
            }
          });
      return new Sealed(UPDATE_FORMAT, sealed, Map.of(), c.challenge(), c.baseModelSha256());
    } catch (HpkeException e) {
      throw new SealingException("cannot encrypt to the enclave's key: " + e.getMessage(), e);
    }
  }

  /**
   * Opens the round's model and, meanwhile, asks for the round's challenge (verified exactly as in
   * {@link #seal}, over a fresh nonce of ours), so the answer is ready when training ends instead of
   * being one more round trip between training and sending.
   */
  @Override
  public float[] openGlobalModel(RoundTask task, int dimension) {
    synchronized (this) {
      pollNonce = null; // a task not from the poll that nonce went out with
    }
    return open(task, dimension, CompletableFuture.supplyAsync(() -> challenge(task), prefetcher), ByteString.EMPTY);
  }

  /** A fresh nonce for the next poll; the challenge handed out with its task must name it (and only it). */
  @Override
  public synchronized ByteString pollNonce() {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    pollNonce = nonce;
    return ByteString.copyFrom(nonce);
  }

  /**
   * Opens the round's model with the challenge the coordinator handed out with the task, when it verifies
   * against the nonce of the poll that brought the task ({@link #attachedChallenge}); otherwise (none
   * attached, or refused: the reason is logged) asks the enclave for one while the model is opened, as
   * {@link #openGlobalModel(RoundTask, int)} does. Either way the site trains only under a challenge
   * signed by the attested key over a nonce it drew after its previous round. The sealed copy handed out
   * with the task is opened as a fetched one ({@link SealedModelOpener#openWithDigest(ModelArtifact, int,
   * ByteString)}).
   */
  @Override
  public float[] openGlobalModel(RoundTask task, int dimension, Attached attached) {
    byte[] nonce;
    synchronized (this) {
      nonce = pollNonce;
      pollNonce = null; // one task per poll nonce
    }
    CompletableFuture<Challenged> challenge = null;
    if (nonce != null && !attached.roundChallenge().isEmpty()) {
      try {
        challenge = CompletableFuture.completedFuture(attachedChallenge(task, attached.roundChallenge(), nonce));
      } catch (AttachedChallengeRefused e) {
        log.warn("site {}: round {}: the round challenge handed out with the task is refused ({}); asking the enclave "
            + "for one", siteId, task.getRound(), e.getMessage());
      }
    }
    if (challenge == null) {
      challenge = CompletableFuture.supplyAsync(() -> challenge(task), prefetcher);
    }
    return open(task, dimension, challenge, attached.sealedModelCopy());
  }

  /** Why a challenge handed out with a task is not used (the site then asks the enclave itself). */
  static final class AttachedChallengeRefused extends Exception {
    AttachedChallengeRefused(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * The challenge the coordinator handed out with {@code task}, verified as {@link #roundChallenge}
   * verifies one the site asked for: signed by the attested enclave's key, over {@code nonce} (the one this
   * site sent with the poll that brought the task), for the task's study, round, round id and base version.
   *
   * @throws AttachedChallengeRefused naming what is wrong (the site then asks the enclave itself)
   * @throws SealingException when the site would refuse the round whatever the challenge (a rolled-back
   *     base, an enclave whose attestation fails)
   */
  Challenged attachedChallenge(RoundTask task, ByteString attached, byte[] nonce) throws AttachedChallengeRefused {
    forwardOnly(task);
    AttestedEnclave e = current(task.getStudyId(), false);
    RoundChallenge rc;
    try {
      rc = RoundChallenge.parseFrom(attached);
    } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
      throw new AttachedChallengeRefused("it does not parse as a RoundChallenge");
    }
    RoundChallengeBody b;
    try {
      b = verified(task, e, rc, nonce);
    } catch (SealingException ex) {
      throw new AttachedChallengeRefused(ex.getMessage());
    }
    if (b == null) {
      throw new AttachedChallengeRefused("it is not signed by the attested enclave's key (another enclave instance, "
          + "or forged)");
    }
    return new Challenged(e, b.getChallenge().toByteArray(), b.getBaseModelSha256().toByteArray());
  }

  private float[] open(RoundTask task, int dimension, CompletableFuture<Challenged> next, ByteString attachedCopy) {
    synchronized (this) {
      pending = new Pending(task.getRoundId(), task.getRound(), task.getModel().getVersion(), next);
    }
    SealedModelOpener.Opened o = opener.openWithDigest(task.getModel(), dimension, attachedCopy);
    float[] weights = o.weights();
    // train only on the model the enclave aggregates against: the host can seal any weights to this
    // site's key, so the opened model's digest (of the f32le bytes decoded) must equal the one in the
    // enclave's signed challenge
    byte[] opened = o.sha256();
    Challenged c = join(next);
    if (c.baseModelSha256().length == 0) {
      c = challenge(task, opened); // the enclave knows no digest yet (round 1, or restarted): it pins the first one named
    }
    if (!java.security.MessageDigest.isEqual(c.baseModelSha256(), opened)) {
      String why = "the model the host handed this site for round " + task.getRound() + " (version "
          + task.getModel().getVersion() + ") has sha256 " + hex(opened) + " but the enclave's signed challenge names "
          + "base model sha256 " + hex(c.baseModelSha256()) + ": refusing to train on it (no privacy spent)";
      log.warn("site {}: {}", siteId, why);
      throw new SealingException(why);
    }
    synchronized (this) {
      pending = new Pending(task.getRoundId(), task.getRound(), task.getModel().getVersion(),
          CompletableFuture.completedFuture(c));
    }
    return weights;
  }

  /**
   * The final model, opened from the copy sealed to this site, without a round challenge: the final evaluation sends
   * nothing to the enclave, and no round is open there. Its digest is not checked against an enclave challenge: the
   * host chooses which sealed model the site scores (the release is differentially private whatever the model;
   * docs/trust.md, "final evaluation").
   */
  @Override
  public float[] openFinalModel(RoundTask task, int dimension) {
    return opener.openWithDigest(task.getModel(), dimension).weights();
  }

  private static String hex(byte[] b) {
    return b.length == 0 ? "(none)" : java.util.HexFormat.of().formatHex(b);
  }

  private static Challenged join(CompletableFuture<Challenged> f) {
    try {
      return f.join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r; // the same SealingException a direct call would have thrown
      }
      throw e;
    }
  }

  /** The challenge fetched for this task while its model was opened, or a fresh one. */
  private Challenged prefetched(RoundTask task) {
    Pending p;
    synchronized (this) {
      p = pending;
      pending = null;
    }
    if (p == null || !p.roundId().equals(task.getRoundId()) || p.round() != task.getRound()
        || p.baseVersion() != task.getModel().getVersion()) {
      return challenge(task);
    }
    return join(p.challenge());
  }

  /** A challenge being fetched for one round (the task's round id, round and base version). */
  private record Pending(String roundId, int round, long baseVersion, CompletableFuture<Challenged> challenge) {
  }

  /** An enclave instance whose attestation this site verified: the keys the document binds. */
  record AttestedEnclave(byte[] hpkePublicKey, PublicKey signingKey, Instant verifiedAt) {
  }

  /** The round's challenge, verified under the attested enclave's signing key. */
  record Challenged(AttestedEnclave enclave, byte[] challenge, byte[] baseModelSha256) {
  }

  /**
   * The enclave's challenge for the task's round, signed over our fresh nonce by the key of an
   * enclave instance whose attestation we verified (the full document, chain included, is checked
   * once per instance, and again after {@link #REATTEST_AFTER}). A signature that does not verify
   * under the cached key means another instance (a restart) or a forgery: we re-attest once, with a
   * new nonce, and give up if it still does not verify.
   */
  Challenged challenge(RoundTask task) {
    // the digest we expect, as a hint for an enclave that has none (round 1: the public initial weights)
    org.cloister.protocol.v1.ModelArtifact m = task.getModel();
    return challenge(task, FloatCodec.WEIGHTS_F32LE.equals(m.getFormat()) ? FloatCodec.sha256(m.getPayload()) : new byte[0]);
  }

  Challenged challenge(RoundTask task, byte[] expectedBaseSha256) {
    forwardOnly(task);
    AttestedEnclave e = current(task.getStudyId(), false);
    RoundChallengeBody challenge = roundChallenge(task, e, expectedBaseSha256);
    if (challenge == null) {
      e = current(task.getStudyId(), true);
      challenge = roundChallenge(task, e, expectedBaseSha256);
      if (challenge == null) {
        throw new SealingException("the round challenge for round " + task.getRound() + " is not signed by the "
            + "attested enclave's key (" + EnclaveSignatures.USER_DATA_TAG + "); not sending the update");
      }
    }
    return new Challenged(e, challenge.getChallenge().toByteArray(), challenge.getBaseModelSha256().toByteArray());
  }

  /**
   * The model only moves forward: a host that restarts the enclave (wiping its memory) and offers an
   * older published model as the round's base gets no update from this site.
   */
  private synchronized void forwardOnly(RoundTask task) {
    long base = task.getModel().getVersion();
    if (base < highestBase) {
      throw new SealingException("round " + task.getRound() + " trains from model version " + base + ", older than "
          + "version " + highestBase + " this site already trained from: refusing a rollback; not sending the update");
    }
    highestBase = base;
  }

  private synchronized AttestedEnclave current(String studyId, boolean force) {
    if (force || attested == null || clock.instant().isAfter(attested.verifiedAt().plus(REATTEST_AFTER))) {
      if (confidentialVm != null) {
        BoundEvidenceVerifier.BoundEnclave b = attestConfidentialVm(studyId);
        PublicKey signingKey;
        try {
          signingKey = b.signingKey();
        } catch (AttestationException ex) {
          throw new SealingException("the enclave's attestation was refused (" + ex.reason() + "): " + ex.getMessage(), ex);
        }
        attested = new AttestedEnclave(b.hpkePublicKey(), signingKey, clock.instant());
        attestations.incrementAndGet();
        return attested;
      }
      VerifiedAttestation a = attest(studyId);
      byte[] pk = a.publicKey().orElseThrow(() -> new SealingException(
          "the enclave's attestation document binds no public key to encrypt to"));
      PublicKey signing;
      try {
        signing = EnclaveSignatures.signingKey(a);
      } catch (AttestationException ex) {
        throw new SealingException("the enclave's attestation was refused (" + ex.reason() + "): " + ex.getMessage(), ex);
      }
      attested = new AttestedEnclave(pk, signing, clock.instant());
      attestations.incrementAndGet();
    }
    return attested;
  }

  /** The verified challenge body (a 32-byte challenge), or null when the answer is not signed by {@code e}'s key. */
  private RoundChallengeBody roundChallenge(RoundTask task, AttestedEnclave e, byte[] expectedBaseSha256) {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    RoundChallenge rc;
    try {
      rc = relay.withDeadlineAfter(30, TimeUnit.SECONDS).getRoundChallenge(RoundChallengeRequest.newBuilder()
          .setStudyId(task.getStudyId()).setRound(task.getRound()).setRoundId(task.getRoundId())
          .setBaseModelVersion(task.getModel().getVersion()).setNonce(ByteString.copyFrom(nonce))
          .setBaseModelSha256(ByteString.copyFrom(expectedBaseSha256)).build());
    } catch (StatusRuntimeException ex) {
      throw new SealingException("cannot obtain the enclave's round challenge: " + ex.getStatus().getCode() + ": "
          + ex.getStatus().getDescription(), ex);
    }
    return verified(task, e, rc, nonce);
  }

  /**
   * The body of {@code rc} when it is signed by {@code e}'s key (else null), names {@code nonce} and the
   * task's study, round, round id and base version, and carries a 32-byte challenge.
   */
  private static RoundChallengeBody verified(RoundTask task, AttestedEnclave e, RoundChallenge rc, byte[] nonce) {
    if (!EnclaveSignatures.verify(e.signingKey(), ROUND_CHALLENGE_PURPOSE, rc.getBody().toByteArray(),
        rc.getSignature().toByteArray())) {
      return null;
    }
    RoundChallengeBody b;
    try {
      b = RoundChallengeBody.parseFrom(rc.getBody());
    } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
      throw new SealingException("the enclave's round challenge does not parse", ex);
    }
    if (!echoes(b, nonce)) {
      throw new SealingException("the round challenge does not echo this site's nonce (a stale answer replayed); "
          + "not sending the update");
    }
    if (!b.getStudyId().equals(task.getStudyId()) || b.getRound() != task.getRound()
        || !b.getRoundId().equals(task.getRoundId()) || b.getBaseModelVersion() != task.getModel().getVersion()) {
      throw new SealingException("the enclave's challenge is for round " + b.getRound() + " (id " + b.getRoundId()
          + ") on model version " + b.getBaseModelVersion() + ", not the task's round " + task.getRound() + " (id "
          + task.getRoundId() + ") on version " + task.getModel().getVersion() + "; not sending the update");
    }
    if (b.getChallenge().size() != 32) {
      throw new SealingException("the enclave's round challenge is not 32 bytes");
    }
    return b;
  }

  /**
   * Whether the signed body names our nonce: as its single echoed nonce, or among the nonces of the
   * requests one group signature answered (public random values of other verifiers).
   */
  static boolean echoes(RoundChallengeBody b, byte[] nonce) {
    if (java.security.MessageDigest.isEqual(b.getNonce().toByteArray(), nonce)) {
      return true;
    }
    ByteString ours = ByteString.copyFrom(nonce);
    return b.getNoncesList().contains(ours);
  }

  /** How many attestation documents this sealer verified in full (one per enclave instance, normally). */
  public int attestationsVerified() {
    return attestations.get();
  }

  /** Fresh SEV-SNP/TDX evidence over our own nonce, verified against the pinned measurements, and its keys. */
  BoundEvidenceVerifier.BoundEnclave attestConfidentialVm(String studyId) {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    org.cloister.protocol.EvidenceWire.Received r;
    try {
      org.cloister.protocol.v1.AttestationResponse response = relay.withDeadlineAfter(30, TimeUnit.SECONDS)
          .getAttestation(AttestationRequest.newBuilder().setStudyId(studyId).setNonce(ByteString.copyFrom(nonce))
              .build());
      r = org.cloister.protocol.EvidenceWire.received(response.hasEvidence() ? response.getEvidence() : null,
          !response.getLegacyDocument().isEmpty(), "the secure aggregator enclave");
    } catch (StatusRuntimeException e) {
      throw new SealingException("cannot obtain the enclave's attestation evidence: " + e.getStatus().getCode()
          + ": " + e.getStatus().getDescription(), e);
    } catch (IllegalArgumentException e) {
      throw new SealingException("the enclave's attestation was refused (MALFORMED): " + e.getMessage()
          + "; not sending the update", e);
    }
    try {
      BoundEvidenceVerifier.BoundEnclave b = confidentialVm.verify(r.platform(), r.evidence(), r.collateral(),
          r.hpkePublicKey(), r.userData(), nonce, clock.instant());
      log.debug("site {}: enclave attested on {}", siteId, r.platform());
      return b;
    } catch (AttestationException e) {
      throw new SealingException("the enclave's attestation was refused (" + e.reason() + "): " + e.getMessage()
          + "; not sending the update", e);
    }
  }

  /** A fresh document with our own nonce, verified against the consortium's expectations. */
  VerifiedAttestation attest(String studyId) {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    byte[] doc;
    try {
      org.cloister.protocol.v1.AttestationResponse response = relay.withDeadlineAfter(30, TimeUnit.SECONDS)
          .getAttestation(AttestationRequest.newBuilder().setStudyId(studyId).setNonce(ByteString.copyFrom(nonce))
              .build());
      doc = org.cloister.protocol.EvidenceWire.nitroDocument(response.hasEvidence() ? response.getEvidence() : null,
          !response.getLegacyDocument().isEmpty(), "the secure aggregator enclave");
    } catch (StatusRuntimeException e) {
      throw new SealingException("cannot obtain the enclave's attestation document: " + e.getStatus().getCode()
          + ": " + e.getStatus().getDescription(), e);
    } catch (IllegalArgumentException e) {
      throw new SealingException("the enclave's attestation was refused (MALFORMED): " + e.getMessage()
          + "; not sending the update", e);
    }
    VerificationPolicy policy = VerificationPolicy.at(clock.instant()).withExpectedNonce(nonce);
    for (Map.Entry<Integer, byte[]> e : expectedPcrs.entrySet()) {
      policy = policy.withExpectedPcr(e.getKey(), e.getValue());
    }
    try {
      VerifiedAttestation a = verifier.verify(doc, policy);
      log.debug("site {}: enclave {} attested (PCR0 {})", siteId, a.moduleId(), a.pcrs().get(0));
      return a;
    } catch (AttestationException e) {
      throw new SealingException("the enclave's attestation was refused (" + e.reason() + "): " + e.getMessage()
          + "; not sending the update", e);
    }
  }

  /** The associated data of an update (shared with the enclave through {@code UpdateAad} in enclave.proto). */
  public static byte[] aad(String studyId, int round, String roundId, String siteId, long baseModelVersion, int dimension) {
    return UpdateAad.newBuilder().setStudyId(studyId).setRound(round).setRoundId(roundId).setSiteId(siteId)
        .setBaseModelVersion(baseModelVersion).setDimension(dimension).build().toByteArray();
  }

  @Override
  public String toString() {
    return confidentialVm != null ? "AttestedHpkeSealer[site " + siteId + ", " + confidentialVm.pins() + "]"
        : "AttestedHpkeSealer[site " + siteId + ", PCR0 " + HexFormat.of().formatHex(expectedPcrs.get(0)) + "]";
  }

  /**
   * Records that this process has already warned about development root {@code root} (a simulation that created
   * it and warned then): the sites it runs in this process do not warn again.
   */
  public static void alreadyWarned(java.security.cert.X509Certificate root) {
    WARNED_ROOTS.add(root);
  }

  /** True the first time this process sees development root {@code root} (its warning is printed then only). */
  static boolean firstWarning(java.security.cert.X509Certificate root) {
    return WARNED_ROOTS.add(root);
  }
}

package org.cloister.enclave.service;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.stream.Collectors;
import org.cloister.dp.noise.GaussianNoise;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.aggregation.AggregationSession;
import org.cloister.enclave.aggregation.ContributionVerifier;
import org.cloister.aggregation.strategy.AggregationRules;
import org.cloister.aggregation.strategy.ServerStep;
import org.cloister.enclave.aggregation.UpdateKernel;
import org.cloister.enclave.runtime.EnclaveSigner;
import org.cloister.trust.hpke.Hpke;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.AggregateInput;
import org.cloister.protocol.v1.AggregateOutput;
import org.cloister.protocol.v1.AggregationReceipt;
import org.cloister.protocol.v1.ReceiptContribution;
import org.cloister.protocol.v1.ReceiptRejection;
import org.cloister.dp.events.DpEventJson;
import org.cloister.protocol.v1.AttestationRequest;
import org.cloister.protocol.v1.AttestationResponse;
import org.cloister.protocol.v1.DescribeRequest;
import org.cloister.protocol.v1.EnclaveDescription;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundChallenge;
import org.cloister.protocol.v1.RoundChallengeBody;
import org.cloister.protocol.v1.RoundChallengeRequest;
import org.cloister.protocol.v1.RoundHeader;
import org.cloister.protocol.v1.SealedModelCopy;
import org.cloister.protocol.v1.SealedUpdate;
import org.cloister.protocol.v1.SecureAggregatorGrpc;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The enclave's gRPC service (the host's only way in). Holds, in enclave memory only, the HPKE
 * private key, the attested signing key, the open rounds' challenges, the last published model, the
 * server optimizer's state and which (round id, site) pairs and round ids it has already seen. An
 * update counts only with a site's contribution statement that verifies under the consortium CA of
 * the measured configuration and carries the challenge this instance issued for the round
 * ({@link ContributionVerifier}); each challenge serves one Aggregate call (and is handed out until that call ends); no model is published
 * from fewer than the policy's cohort floor of authenticated training sites. So the untrusted host
 * cannot forge, re-weight, swap or replay an update, replay a round, nor roll the model back within
 * an instance; a restart invalidates every earlier challenge (docs/trust.md). Logs carry counts and
 * identifiers, never values.
 */
public final class SecureAggregatorService extends SecureAggregatorGrpc.SecureAggregatorImplBase {
  private static final Logger log = LoggerFactory.getLogger(SecureAggregatorService.class);
  private static final int MIN_NONCE = 16;
  private static final int MAX_NONCE = 64;
  private static final int MAX_OPEN_ROUNDS = 64;
  /** The purpose (domain) of round challenge signatures ({@link org.cloister.trust.attestation.EnclaveSignatures}). */
  public static final String ROUND_CHALLENGE_PURPOSE = "round-challenge";
  /**
   * How a refusal of a base model named by reference begins (the round stays open: the host may send it in full).
   */
  public static final String BASE_NOT_HELD = "base_model_not_held: ";

  private final AggregationPolicy policy;
  private final EnclaveConfig config;
  private final HpkeKeyPair key;
  private final EnclaveSigner signer;
  private final org.cloister.enclave.runtime.EvidenceSource platform;
  private final String platformName;
  private final Map<Integer, byte[]> pcrs;
  private final ModelVault vault;
  private final GaussianNoise noise;
  private final UpdateKernel kernel;
  private final ReceiptIssuer receipts;
  private final ServerStep optimizer;
  private final Set<String> members;
  private final Semaphore roundLock = new Semaphore(1); // released by whichever gRPC thread ends the call
  private final Set<String> seenUpdates = new HashSet<>();
  private final Set<String> publishedRounds = java.util.concurrent.ConcurrentHashMap.newKeySet();
  /** Rounds opened by GetRoundChallenge and not yet aggregated, oldest first (bounded). */
  private final LinkedHashMap<String, ContributionVerifier.OpenRound> openRounds = new LinkedHashMap<>();
  /** Round ids whose challenge an Aggregate call spent: never opened again. */
  private final Set<String> spentRounds = new HashSet<>();
  /** The round of the Aggregate call in progress, if any (guarded by {@link #openRounds}). */
  private ContributionVerifier.OpenRound aggregating;
  private final ContributionVerifier contributions;
  private final ChallengeSigner challengeSigner;
  private final SecureRandom random;
  private volatile Published latest; // read by GetRoundChallenge on other threads
  private int centralReleases;
  /**
   * Where each update's sealed payload is copied out of its message (one round at a time: the round
   * lock), instead of a new array per update; ciphertext only. Two, used in turn: the statement of one
   * update is verified in one while the update before is decrypted and summed from the other.
   */
  private final byte[][] payloadBuffers = {new byte[0], new byte[0]};
  /**
   * Verifies each update's contribution statement (certificate, signature, the SHA-256 of its sealed payload)
   * while the call's own thread decrypts and sums the update before it (a pipeline of two); updates are still
   * offered to the session one at a time, in arrival order, and only after their statement verified.
   */
  private final java.util.concurrent.ExecutorService verifier = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "enclave-verify");
    t.setDaemon(true);
    return t;
  });
  /** The rounds' aggregation buffers, handed from one round's session to the next (wiped by each). */
  private AggregationSession.Workspace workspace;

  /**
   * The last published version: its number, the artifact's digest and payload (as this enclave made
   * them), the weights and the SHA-256 of their f32le encoding (the base digest of the next round's challenge).
   */
  private record Published(long version, byte[] artifactSha256, ByteString artifactPayload, float[] weights,
                           byte[] weightsSha256) {
  }

  /**
   * @param signer the enclave's attested signing key (bound in every attestation document it serves)
   * @param noise central DP noise source; required when the policy asks for central DP
   * @param receipts signs the receipt of every published model with the attested key
   */
  public SecureAggregatorService(AggregationPolicy policy, EnclaveConfig config, HpkeKeyPair key, EnclaveSigner signer,
                                 org.cloister.enclave.runtime.EvidenceSource platform, String platformName, Map<Integer, byte[]> pcrs,
                                 ModelVault vault, GaussianNoise noise, UpdateKernel kernel, ReceiptIssuer receipts) {
    if (policy.centralDp() != null && noise == null) {
      throw new IllegalArgumentException("the aggregation policy asks for central DP (z = "
          + policy.centralDp().noiseMultiplier() + ") but no secure Gaussian noise source is wired into the enclave");
    }
    this.policy = policy;
    this.config = config;
    this.key = key;
    this.signer = signer;
    this.platform = platform;
    this.platformName = platformName;
    this.pcrs = Map.copyOf(pcrs);
    this.vault = vault;
    this.noise = noise;
    this.kernel = kernel;
    this.receipts = java.util.Objects.requireNonNull(receipts, "receipts");
    this.optimizer = AggregationRules.installed().rule(policy.strategy().name())
        .serverStep(policy.strategy(), policy.dimension());
    this.members = config.members().stream().map(EnclaveConfig.Member::id).collect(Collectors.toUnmodifiableSet());
    this.contributions = new ContributionVerifier(config, Clock.systemUTC());
    this.random = new SecureRandom();
    this.challengeSigner = new ChallengeSigner(body -> signer.sign(ROUND_CHALLENGE_PURPOSE, body));
  }

  @Override
  public void getRoundChallenge(RoundChallengeRequest req, StreamObserver<RoundChallenge> out) {
    int n = req.getNonce().size();
    if (n < MIN_NONCE || n > MAX_NONCE) {
      out.onError(Status.INVALID_ARGUMENT.withDescription("nonce must be " + MIN_NONCE + ".." + MAX_NONCE
          + " bytes, got " + n).asRuntimeException());
      return;
    }
    if (!req.getStudyId().equals(policy.studyId())) {
      out.onError(Status.NOT_FOUND.withDescription("this enclave aggregates study " + policy.studyId()
          + ", not '" + req.getStudyId() + "'").asRuntimeException());
      return;
    }
    if (req.getRoundId().isEmpty() || req.getRoundId().length() > 128) {
      out.onError(Status.INVALID_ARGUMENT.withDescription("round_id must be 1..128 characters").asRuntimeException());
      return;
    }
    ContributionVerifier.OpenRound open;
    synchronized (openRounds) {
      // the round whose Aggregate call is in progress (the host streams updates as they arrive): a
      // site that asks late still gets its challenge, until the call ends
      ContributionVerifier.OpenRound inCall = aggregating != null && aggregating.roundId().equals(req.getRoundId())
          ? aggregating : null;
      if (inCall == null && (spentRounds.contains(req.getRoundId()) || publishedRounds.contains(req.getRoundId()))) {
        out.onError(Status.FAILED_PRECONDITION.withDescription("round id " + req.getRoundId()
            + " was already aggregated by this enclave: its challenge is spent").asRuntimeException());
        return;
      }
      open = inCall != null ? inCall : openRounds.get(req.getRoundId());
      if (req.getBaseModelSha256().size() != 0 && req.getBaseModelSha256().size() != 32) {
        out.onError(Status.INVALID_ARGUMENT.withDescription("base_model_sha256 must be 32 bytes (or empty), got "
            + req.getBaseModelSha256().size()).asRuntimeException());
        return;
      }
      if (open == null) {
        byte[] challenge = new byte[32];
        random.nextBytes(challenge);
        // the base the round aggregates against: this enclave's last published model when the round
        // builds on it; otherwise (round 1, or a restarted enclave) the first digest named for the
        // round is pinned, and the Aggregate call refuses a base with any other digest
        Published last = latest;
        byte[] base = last != null && last.version() == req.getBaseModelVersion() ? last.weightsSha256()
            : req.getBaseModelSha256().toByteArray();
        open = new ContributionVerifier.OpenRound(policy.studyId(), req.getRound(), req.getRoundId(),
            req.getBaseModelVersion(), challenge, base);
        openRounds.put(req.getRoundId(), open);
        while (openRounds.size() > MAX_OPEN_ROUNDS) { // the host cannot grow enclave memory without bound
          openRounds.remove(openRounds.keySet().iterator().next());
        }
      } else if (open.round() != req.getRound() || open.baseModelVersion() != req.getBaseModelVersion()) {
        out.onError(Status.FAILED_PRECONDITION.withDescription("round id " + req.getRoundId() + " is open as round "
            + open.round() + " on model version " + open.baseModelVersion() + ", not round " + req.getRound()
            + " on version " + req.getBaseModelVersion()).asRuntimeException());
        return;
      } else if (inCall == null && open.baseModelSha256().length == 0 && req.getBaseModelSha256().size() == 32) {
        open = open.withBaseModelSha256(req.getBaseModelSha256().toByteArray()); // pinned once, never changed
        openRounds.put(req.getRoundId(), open);
      }
    }
    // signed over this request's nonce, together with those of the requests waiting meanwhile (ChallengeSigner)
    challengeSigner.answer(new ChallengeSigner.Request(open, req.getNonce(), out));
  }

  @Override
  public void getAttestation(AttestationRequest req, StreamObserver<AttestationResponse> out) {
    int n = req.getNonce().size();
    if (n < MIN_NONCE || n > MAX_NONCE) {
      out.onError(Status.INVALID_ARGUMENT.withDescription("nonce must be " + MIN_NONCE + ".." + MAX_NONCE
          + " bytes, got " + n).asRuntimeException());
      return;
    }
    if (!req.getStudyId().isEmpty() && !req.getStudyId().equals(policy.studyId())) {
      out.onError(Status.NOT_FOUND.withDescription("this enclave aggregates study " + policy.studyId()
          + ", not '" + req.getStudyId() + "'").asRuntimeException());
      return;
    }
    // binds the verifier's nonce, the HPKE key updates are sealed to and the enclave's signing key
    org.cloister.protocol.v1.Evidence evidence;
    try {
      evidence = platform.evidence(req.getNonce().toByteArray(), signer.attestationUserData(), key.publicKey());
    } catch (IllegalStateException e) {
      out.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    out.onNext(AttestationResponse.newBuilder().setEvidence(evidence).build());
    out.onCompleted();
  }

  @Override
  public void describe(DescribeRequest req, StreamObserver<EnclaveDescription> out) {
    EnclaveDescription.Builder b = EnclaveDescription.newBuilder().setModuleId(config.moduleId())
        .setHpkePublicKey(ByteString.copyFrom(key.publicKey())).setPlatform(platformName)
        .addAllMembers(members.stream().sorted().toList());
    pcrs.forEach((i, v) -> b.putPcrs(i, ByteString.copyFrom(v)));
    out.onNext(b.build());
    out.onCompleted();
  }

  @Override
  public StreamObserver<AggregateInput> aggregate(StreamObserver<AggregateOutput> out) {
    return new RoundStream(out);
  }

  /** One Aggregate call: header, updates (each decrypted, validated and summed as it arrives), result. */
  private final class RoundStream implements StreamObserver<AggregateInput> {
    private final StreamObserver<AggregateOutput> out;
    private AggregationSession session;
    private RoundHeader header;
    private ContributionVerifier.OpenRound round;
    private float[] base;
    private boolean done;
    private boolean locked;
    private ContributionVerifier.OpenRound inCall;
    private final Map<String, byte[]> statementDigests = new java.util.HashMap<>();
    /** The update whose statement is being verified, offered when the next one arrives or the call ends. */
    private Checking checking;
    private int nextBuffer;

    RoundStream(StreamObserver<AggregateOutput> out) {
      this.out = out;
    }

    @Override
    public void onNext(AggregateInput in) {
      if (done) {
        return;
      }
      try {
        switch (in.getItemCase()) {
          case HEADER -> begin(in.getHeader());
          case UPDATE -> offer(in.getUpdate());
          default -> throw Status.INVALID_ARGUMENT.withDescription("empty AggregateInput").asRuntimeException();
        }
      } catch (StatusRuntimeException e) {
        fail(e);
      } catch (RuntimeException e) {
        log.error("aggregation failed", e);
        fail(Status.INTERNAL.withDescription("enclave error: " + e.getClass().getSimpleName()).asRuntimeException());
      }
    }

    private void begin(RoundHeader h) {
      if (session != null) {
        throw Status.INVALID_ARGUMENT.withDescription("a second round header in one Aggregate call").asRuntimeException();
      }
      if (!roundLock.tryAcquire()) {
        throw Status.FAILED_PRECONDITION.withDescription("another round is being aggregated").asRuntimeException();
      }
      locked = true;
      if (!policy.studyId().equals(h.getStudyId())) {
        throw Status.FAILED_PRECONDITION.withDescription("this enclave aggregates study " + policy.studyId()
            + ", not '" + h.getStudyId() + "'").asRuntimeException();
      }
      if (h.getRoundId().isEmpty()) {
        throw Status.INVALID_ARGUMENT.withDescription("round_id is empty").asRuntimeException();
      }
      if (publishedRounds.contains(h.getRoundId())) {
        throw Status.FAILED_PRECONDITION.withDescription("round id " + h.getRoundId()
            + " was already aggregated and published (a replayed round)").asRuntimeException();
      }
      // a base named by reference is resolved before the challenge is spent: a refusal leaves the round open
      // for the host to send the model in full
      float[] referenced = isReference(h.getBaseModel()) ? resolveReference(h.getBaseModel()) : null;
      ContributionVerifier.OpenRound open;
      synchronized (openRounds) {
        open = openRounds.remove(h.getRoundId());
        if (open == null) {
          throw Status.FAILED_PRECONDITION.withDescription("round id " + h.getRoundId() + " has no open challenge: "
              + (spentRounds.contains(h.getRoundId()) ? "it was already aggregated (its challenge is spent)"
              : "this enclave instance never opened it (GetRoundChallenge), or opened it before a restart"))
              .asRuntimeException();
        }
        spentRounds.add(h.getRoundId()); // one Aggregate call per challenge, whatever its outcome
        aggregating = open;
        inCall = open;
      }
      if (open.round() != h.getRound() || open.baseModelVersion() != h.getBaseModel().getVersion()) {
        throw Status.FAILED_PRECONDITION.withDescription("round id " + h.getRoundId() + " was opened as round "
            + open.round() + " on model version " + open.baseModelVersion() + ", but the header says round "
            + h.getRound() + " on version " + h.getBaseModel().getVersion()).asRuntimeException();
      }
      base = referenced != null ? referenced : loadBase(h.getBaseModel());
      Published last = latest;
      byte[] baseSha256 = last != null && base == last.weights() ? last.weightsSha256() // computed once, at publication
          : FloatCodec.sha256(FloatCodec.encode(base));
      byte[] pinned = open.baseModelSha256();
      if (pinned.length != 0 && !MessageDigest.isEqual(pinned, baseSha256)) {
        throw Status.FAILED_PRECONDITION.withDescription("round id " + h.getRoundId() + ": the base model the host "
            + "handed the enclave has sha256 " + HexFormat.of().formatHex(baseSha256) + ", not the "
            + HexFormat.of().formatHex(pinned) + " named in the round's challenge to the sites").asRuntimeException();
      }
      if (pinned.length == 0) {
        open = open.withBaseModelSha256(baseSha256); // no site was told a digest: none can have trained on it
        synchronized (openRounds) {
          aggregating = open;
          inCall = open;
        }
      }
      header = h;
      round = open;
      // the next version's content key and its members' copies, made now rather than after the round's
      // last update (when every site waits); released only with that version's artifact (ModelVault)
      vault.prepare(h.getBaseModel().getVersion() + 1);
      if (workspace == null) {
        workspace = new AggregationSession.Workspace(policy.dimension());
      }
      session = new AggregationSession(policy, members, key, new Hpke(), kernel,
          new AggregationSession.RoundContext(h.getStudyId(), h.getRound(), h.getRoundId(), h.getBaseModel().getVersion()),
          AggregationSession.ReplayGuard.over(seenUpdates), workspace);
    }

    /**
     * Starts verifying {@code u}'s statement (on {@link #verifier}, into the payload buffer not in use), then
     * offers the update before it, whose verification ran meanwhile.
     */
    private void offer(SealedUpdate u) {
      if (session == null) {
        throw Status.INVALID_ARGUMENT.withDescription("an update before the round header").asRuntimeException();
      }
      int length = u.getPayload().size();
      int slot = nextBuffer;
      nextBuffer ^= 1;
      if (payloadBuffers[slot].length < length) {
        payloadBuffers[slot] = new byte[length];
      }
      byte[] bytes = payloadBuffers[slot]; // free: the update that used it last was offered in the previous call
      ContributionVerifier.OpenRound r = round;
      java.util.concurrent.CompletableFuture<Object> check = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        u.getPayload().copyTo(bytes, 0);
        try {
          return contributions.verify(u, bytes, length, r);
        } catch (ContributionVerifier.Refused e) {
          return e;
        }
      }, verifier);
      Checking before = checking;
      checking = new Checking(u, bytes, length, check);
      if (before != null) {
        offerChecked(before);
      }
    }

    /** Offers the update whose verification is under way, if any (the call's last). */
    private void offerPending() {
      Checking c = checking;
      checking = null;
      if (c != null) {
        offerChecked(c);
      }
    }

    /** Waits for a verification started earlier (without offering its update): its buffer is free afterwards. */
    private void awaitPending() {
      Checking c = checking;
      checking = null;
      if (c != null) {
        try {
          c.result().join();
        } catch (RuntimeException e) {
          // the call is ending anyway
        }
      }
    }

    private void offerChecked(Checking c) {
      SealedUpdate u = c.update();
      Object checked;
      try {
        checked = c.result().join();
      } catch (java.util.concurrent.CompletionException e) {
        throw e.getCause() instanceof RuntimeException re ? re : e;
      }
      if (checked instanceof ContributionVerifier.Refused e) {
        // keyed by the host's label: the only name an unauthenticated update has
        session.reject(u.getSiteId().isEmpty() ? "(unlabelled)" : u.getSiteId(), e.getMessage());
        return;
      }
      ContributionVerifier.Verified v = (ContributionVerifier.Verified) checked;
      byte[] bytes = c.bytes();
      int length = c.length();
      String replayKey = round.roundId() + "\u0000" + v.siteId();
      boolean openedBefore = seenUpdates.contains(replayKey);
      // identity and weight from the verified statement only; the host's copies are ignored
      session.offer(v.siteId(), v.weight(), round.baseModelVersion(), u.getPayloadFormat(), bytes, 0, length);
      if (!openedBefore && seenUpdates.contains(replayKey)) {
        // this offer is the one the enclave opened for the site (at most one per round): the receipt
        // names the digest of its verified contribution statement
        statementDigests.put(v.siteId(), v.statementSha256());
      }
    }

    @Override
    public void onError(Throwable t) {
      log.info("aggregation call ended by the host: {}", Status.fromThrowable(t).getCode());
      cleanUp();
    }

    @Override
    public void onCompleted() {
      if (done) {
        return;
      }
      try {
        if (session == null) {
          throw Status.INVALID_ARGUMENT.withDescription("no round header").asRuntimeException();
        }
        offerPending();
        AggregateOutput result = finish();
        done = true;
        // release the round before answering, so the host's next call never sees it still held
        cleanUp();
        out.onNext(result);
        out.onCompleted();
      } catch (StatusRuntimeException e) {
        fail(e);
      } catch (RuntimeException e) {
        log.error("aggregation failed", e);
        fail(Status.INTERNAL.withDescription("enclave error: " + e.getClass().getSimpleName()).asRuntimeException());
      } finally {
        cleanUp();
      }
    }

    private AggregateOutput finish() {
      // by site, whatever order the host streamed them in: the receipt and the answer do not depend on it
      List<String> accepted = session.accepted().stream().sorted().toList();
      Map<String, String> rejected = new LinkedHashMap<>(session.rejected());
      rejected.forEach((site, reason) -> log.info("round {}: update from {} rejected: {}", header.getRound(), site, reason));
      if (accepted.size() < policy.publishFloor()) {
        String detail = "below_cohort_floor: " + accepted.size() + " authenticated valid training site(s); the "
            + "policy publishes a model only from at least " + policy.publishFloor();
        for (String s : accepted) {
          rejected.put(s, "not_published: " + detail);
        }
        session.close();
        log.info("round {}: not published ({})", header.getRound(), detail);
        return AggregateOutput.newBuilder().setPublished(false).putAllRejected(rejected).setDetail(detail).build();
      }
      if (policy.centralDp() != null && centralReleases >= policy.centralDp().maxReleases()) {
        session.close();
        String detail = "the site-level central DP budget allows " + policy.centralDp().maxReleases()
            + " noised model(s) and all were published";
        log.info("round {}: not published ({})", header.getRound(), detail);
        throw Status.FAILED_PRECONDITION.withDescription(detail).asRuntimeException();
      }
      float[] mean = session.meanUpdate(noise);
      if (policy.centralDp() != null) {
        centralReleases++;
      }
      float[] next = optimizer.step(base, mean);
      long version = header.getBaseModel().getVersion() + 1;
      ModelVault.Publication publication = vault.publish(next, version);
      ModelArtifact artifact = publication.artifact();
      List<SealedModelCopy> copies = publication.copies();
      // the digest ModelArtifactCipher computed over the payload it made here
      latest = new Published(version, artifact.getSha256().toByteArray(), artifact.getPayload(), next,
          publication.weightsSha256());
      publishedRounds.add(header.getRoundId());
      log.info("round {}: published model version {} from {} update(s), {} rejected, sealed to {} member(s)",
          header.getRound(), version, accepted.size(), rejected.size(), copies.size());
      AggregationReceipt.Builder receipt = AggregationReceipt.newBuilder().setStudyId(policy.studyId())
          .setRound(header.getRound()).setRoundId(header.getRoundId())
          .setBaseModelVersion(header.getBaseModel().getVersion()).setModelVersion(version)
          .setModelSha256(ByteString.copyFrom(latest.artifactSha256())).setCohortFloor(policy.publishFloor());
      for (String site : accepted) {
        receipt.addContributions(ReceiptContribution.newBuilder().setSiteId(site)
            .setStatementSha256(ByteString.copyFrom(statementDigests.get(site))));
      }
      new java.util.TreeMap<>(rejected).forEach((site, reason) ->
          receipt.addRejected(ReceiptRejection.newBuilder().setSiteId(site).setReason(reason)));
      if (session.centralDpEvent() != null) {
        receipt.setCentralDpEvent(DpEventJson.toJson(session.centralDpEvent()))
            .setCentralNoiseStddev(session.noiseStddev());
      }
      return AggregateOutput.newBuilder().setPublished(true).setModel(artifact).addAllAggregated(accepted)
          .putAllRejected(rejected).addAllCopies(copies).setReceipt(receipts.issue(receipt))
          .setDetail(String.format(java.util.Locale.ROOT, "%d update(s) aggregated%s", accepted.size(),
              session.noiseStddev() > 0 ? ", central noise added" : ""))
          .build();
    }

    private void fail(StatusRuntimeException e) {
      done = true;
      log.info("aggregation refused: {}", e.getStatus().getDescription());
      cleanUp();
      out.onError(e);
    }

    private void cleanUp() {
      awaitPending(); // no verification may still write a payload buffer when the next call takes them
      if (inCall != null) {
        synchronized (openRounds) {
          if (aggregating == inCall) {
            aggregating = null; // the challenge is spent from here on
          }
        }
        inCall = null;
      }
      if (session != null) {
        session.close();
      }
      if (locked) {
        locked = false;
        roundLock.release();
      }
    }
  }

  /** An update and the verification of its statement, started on {@link #verifier}: a Verified or a Refused. */
  private record Checking(SealedUpdate update, byte[] bytes, int length,
                          java.util.concurrent.CompletableFuture<Object> result) {
  }

  /** Whether two payloads hold the same bytes (compared in place; public ciphertext, so not in constant time). */
  private static boolean samePayload(ByteString a, ByteString b) {
    return a.size() == b.size() && a.asReadOnlyByteBuffer().mismatch(b.asReadOnlyByteBuffer()) < 0;
  }

  /**
   * Whether a round header names its base by reference: an artifact of this enclave's format without its payload
   * (version and digest only), instead of resending the model the enclave published last.
   */
  private static boolean isReference(ModelArtifact m) {
    return ModelVault.ARTIFACT_FORMAT.equals(m.getFormat()) && m.getPayload().isEmpty();
  }

  /**
   * The weights of a base named by reference: only the model this enclave instance published last, named by its
   * version and the SHA-256 of its artifact; anything else is refused ({@code base_model_not_held}), so the host
   * cannot make the enclave aggregate on another base by withholding the model's bytes.
   */
  private float[] resolveReference(ModelArtifact m) {
    checkStudyAndDimension(m);
    Published last = latest;
    String named = "the round header names base model version " + m.getVersion() + " (artifact sha256 "
        + (m.getSha256().size() == 32 ? HexFormat.of().formatHex(m.getSha256().toByteArray()) : "(none)")
        + ") by reference, without its payload, but ";
    if (last == null) {
      throw Status.FAILED_PRECONDITION.withDescription(BASE_NOT_HELD + named + "this enclave instance has published "
          + "no model (the first round, or a restart): send the model in full").asRuntimeException();
    }
    if (m.getVersion() != last.version()) {
      throw Status.FAILED_PRECONDITION.withDescription(BASE_NOT_HELD + named + "the last model this enclave published "
          + "is version " + last.version() + ": only that one is held").asRuntimeException();
    }
    if (!MessageDigest.isEqual(m.getSha256().toByteArray(), last.artifactSha256())) {
      throw Status.FAILED_PRECONDITION.withDescription(BASE_NOT_HELD + named + "this enclave published version "
          + last.version() + " with artifact sha256 " + HexFormat.of().formatHex(last.artifactSha256()))
          .asRuntimeException();
    }
    return last.weights();
  }

  private void checkStudyAndDimension(ModelArtifact m) {
    if (!m.getStudyId().equals(policy.studyId()) || m.getDimension() != policy.dimension()) {
      throw Status.FAILED_PRECONDITION.withDescription("base model is for study '" + m.getStudyId() + "' with "
          + m.getDimension() + " parameters; expected " + policy.studyId() + " with " + policy.dimension())
          .asRuntimeException();
    }
  }

  /** The weights a round trained from, checked against what this enclave published before. */
  private float[] loadBase(ModelArtifact m) {
    checkStudyAndDimension(m);
    if (FloatCodec.WEIGHTS_F32LE.equals(m.getFormat())) {
      if (latest != null || m.getVersion() != 1) {
        throw Status.FAILED_PRECONDITION.withDescription("a plaintext base model is accepted only as the initial "
            + "version 1 before anything was published (got version " + m.getVersion()
            + (latest != null ? ", latest published " + latest.version() : "") + ")").asRuntimeException();
      }
      byte[] payload = m.getPayload().toByteArray();
      if (!m.getSha256().isEmpty() && !MessageDigest.isEqual(m.getSha256().toByteArray(), FloatCodec.sha256(payload))) {
        throw Status.INVALID_ARGUMENT.withDescription("initial model sha256 does not match its payload").asRuntimeException();
      }
      try {
        return FloatCodec.decode(payload, policy.dimension());
      } catch (IllegalArgumentException e) {
        throw Status.INVALID_ARGUMENT.withDescription("initial model: " + e.getMessage()).asRuntimeException();
      }
    }
    if (!ModelVault.ARTIFACT_FORMAT.equals(m.getFormat())) {
      throw Status.INVALID_ARGUMENT.withDescription("base model format '" + m.getFormat() + "' is neither "
          + FloatCodec.WEIGHTS_F32LE + " nor " + ModelVault.ARTIFACT_FORMAT).asRuntimeException();
    }
    if (latest != null) {
      if (m.getVersion() == latest.version() && samePayload(m.getPayload(), latest.artifactPayload())) {
        return latest.weights(); // byte for byte the artifact this enclave published last
      }
      if (m.getVersion() <= latest.version()) {
        throw Status.FAILED_PRECONDITION.withDescription("base model version " + m.getVersion()
            + " is not the latest this enclave published (" + latest.version() + "): refusing a rollback")
            .asRuntimeException();
      }
    }
    try {
      return vault.decrypt(m);
    } catch (IOException e) {
      throw Status.FAILED_PRECONDITION.withDescription("base model: " + e.getMessage()).asRuntimeException();
    }
  }
}

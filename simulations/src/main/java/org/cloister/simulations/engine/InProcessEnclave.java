package org.cloister.simulations.engine;

import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.cloister.coordinator.aggregation.AggregationResult;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.rounds.ReceivedUpdate;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.enclave.aggregation.AggregationSession;
import org.cloister.enclave.aggregation.ContributionVerifier;
import org.cloister.enclave.aggregation.UpdateKernel;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.SealedUpdate;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.cloister.trust.pki.Pem;

/**
 * Secure aggregation in the simulation's process ({@code --engine inprocess --secure-aggregation}),
 * for fidelity checks at scale: the enclave's own code path without its process, attestation or TEE.
 * Each round it draws a fresh challenge; sites seal their updates with HPKE to this aggregator's
 * X25519 key and sign contribution statements ({@link VirtualSite#sealedEnvelope}); at the round's
 * end every update goes through the enclave's {@link ContributionVerifier} (certificate under the
 * consortium CA, signature, round, challenge, base model digest, payload digest) and its
 * {@link AggregationSession} (membership, replay, decryption, weight, dimension, finite values,
 * norm bound, the streaming weighted sum), with the identity and weight from the verified statement
 * only, as {@code SecureAggregatorService} does. The cohort floor and the server step are
 * {@link KernelAggregator#publishMean}'s (the enclave's arithmetic). Not issued: receipts, sealed
 * model copies (the model is published in plaintext to the simulation, as in {@code inprocess}).
 */
public final class InProcessEnclave implements Aggregator {
  private final KernelAggregator publisher;
  private final AggregationPolicy policy;
  private final Set<String> members;
  private final ContributionVerifier verifier;
  private final Hpke hpke;
  private final HpkeKeyPair key;
  private final SecureRandom random;
  private final AggregationSession.Workspace workspace;
  private final Map<String, ContributionVerifier.OpenRound> open = new ConcurrentHashMap<>();
  private final Set<String> seen = ConcurrentHashMap.newKeySet();

  /**
   * @param publisher    the cohort floor and server step (the enclave's)
   * @param policy       what the enclave enforces (dimension, norm bound, floor, strategy)
   * @param members      the training sites (their certificates' common names)
   * @param consortiumCa the CA whose certificates sign contribution statements
   */
  public InProcessEnclave(KernelAggregator publisher, AggregationPolicy policy, List<String> members,
                          X509Certificate consortiumCa, SecureRandom random) {
    if (policy.centralDp() != null) {
      throw new IllegalArgumentException("central DP in the enclave is not simulated in-process: use --engine grpc");
    }
    if (policy.dimension() != publisher.dimension()) {
      throw new IllegalArgumentException("policy dimension " + policy.dimension() + " but the model has "
          + publisher.dimension());
    }
    this.publisher = publisher;
    this.policy = policy;
    this.members = Set.copyOf(members);
    this.random = random;
    this.hpke = new Hpke(random);
    this.key = hpke.generateKeyPair();
    // the enclave's configuration as far as aggregation reads it: the members and the consortium CA
    // (no model is sealed to members in-process: every member gets this aggregator's own public key)
    String unused = HexFormat.of().formatHex(key.publicKey());
    List<EnclaveConfig.Member> m = new ArrayList<>(members.size());
    for (String id : members) {
      m.add(new EnclaveConfig.Member(id, EnclaveConfig.ROLE_SITE, unused));
    }
    String caPem = Pem.certificatesToPem(List.of(consortiumCa));
    EnclaveConfig config = new EnclaveConfig(EnclaveConfig.FORMAT, "cloister-inprocess-enclave", m, caPem,
        new EnclaveConfig.KeyBroker("in-process (not used)", caPem, "in-process"));
    this.verifier = new ContributionVerifier(config, Clock.systemUTC());
    this.workspace = new AggregationSession.Workspace(policy.dimension());
  }

  /** The X25519 public key sites seal to. */
  public byte[] publicKey() {
    return key.publicKey();
  }

  /**
   * Opens {@code task}'s round: a fresh 32-byte challenge and the base model's digest, which every
   * contribution statement of the round must carry.
   */
  public ContributionVerifier.OpenRound open(RoundTask task) {
    byte[] challenge = new byte[32];
    random.nextBytes(challenge);
    ContributionVerifier.OpenRound r = new ContributionVerifier.OpenRound(task.getStudyId(), task.getRound(),
        task.getRoundId(), task.getModel().getVersion(), challenge, FloatCodec.sha256(task.getModel().getPayload().toByteArray()));
    open.put(task.getRoundId(), r);
    return r;
  }

  /** The round {@code roundId} as {@link #open} opened it (its challenge), or null when it is not open. */
  public ContributionVerifier.OpenRound opened(String roundId) {
    return open.get(roundId);
  }

  @Override
  public void abandoned(String roundId) {
    open.remove(roundId);
  }

  @Override
  public synchronized AggregationResult aggregate(String roundId, int round, ModelArtifact current, List<ReceivedUpdate> updates) {
    ContributionVerifier.OpenRound r = open.remove(roundId);
    if (r == null || r.round() != round || r.baseModelVersion() != current.getVersion()) {
      throw new IllegalStateException("round " + round + " (id " + roundId + ") on model version " + current.getVersion()
          + " was not opened with this aggregator");
    }
    if (!java.security.MessageDigest.isEqual(r.baseModelSha256(), FloatCodec.sha256(current.getPayload().toByteArray()))) {
      throw new IllegalStateException("round " + round + ": the base model differs from the one the round was opened on");
    }
    AggregationSession session = new AggregationSession(policy, members, key, hpke, UpdateKernel.best(),
        new AggregationSession.RoundContext(current.getStudyId(), round, roundId, current.getVersion()),
        AggregationSession.ReplayGuard.over(seen), workspace);
    try {
      for (ReceivedUpdate u : updates) {
        UpdateEnvelope e = u.envelope();
        SealedUpdate sealed = SealedUpdate.newBuilder().setSiteId(u.siteId()).setNumExamples(e.getNumExamples())
            .setBaseModelVersion(e.getBaseModelVersion()).setPayloadFormat(e.getPayloadFormat()).setPayload(e.getPayload())
            .setContribution(e.getContribution()).build();
        byte[] payload = e.getPayload().toByteArray();
        ContributionVerifier.Verified v;
        try {
          v = verifier.verify(sealed, payload, r);
        } catch (ContributionVerifier.Refused refused) {
          session.reject(u.siteId().isEmpty() ? "(unlabelled)" : u.siteId(), refused.getMessage());
          continue;
        }
        // identity and weight from the verified statement only
        session.offer(v.siteId(), v.weight(), r.baseModelVersion(), e.getPayloadFormat(), payload, 0, payload.length);
      }
      List<String> accepted = session.accepted();
      Map<String, String> rejected = new LinkedHashMap<>(session.rejected());
      if (accepted.size() < policy.publishFloor()) {
        return publisher.publishMean(current, null, accepted, rejected, policy.publishFloor());
      }
      return publisher.publishMean(current, session.meanUpdate(null), accepted, rejected, policy.publishFloor());
    } finally {
      session.close();
    }
  }
}

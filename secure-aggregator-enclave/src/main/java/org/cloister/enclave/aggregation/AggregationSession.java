package org.cloister.enclave.aggregation;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.cloister.aggregation.RejectReason;
import org.cloister.dp.noise.GaussianNoise;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.crypto.FastHpke;
import org.cloister.protocol.v1.UpdateAad;
import org.cloister.trust.hpke.HpkeException;
import org.cloister.trust.hpke.HpkeKeyPair;

/**
 * One round inside the enclave: updates are offered one at a time; each is decrypted into a reused
 * buffer, validated (member, not replayed, weight, base version, dimension, finite values, L2 norm
 * within the policy's bound) and, if valid, added to the weighted sum — so memory stays O(dimension)
 * whatever the number of sites, and no update is ever kept. Validation and summation share one
 * pass over the decrypted values: the candidate sum is written to a second buffer and adopted only
 * when the update is valid, so a rejected update never touches the sum. Reasons name what is wrong
 * and never a value.
 *
 * <p>Not thread-safe: one session per round, driven by one thread.
 */
public final class AggregationSession {
  /** Payload format of sealed updates. */
  public static final String UPDATE_FORMAT = "hpke-x25519-aes256gcm-v1";
  /** HPKE info of sealed updates. */
  public static final byte[] UPDATE_INFO = "cloister/v1 update".getBytes(StandardCharsets.US_ASCII);

  /** Where replays are remembered across sessions (the enclave's memory of past rounds). */
  public interface ReplayGuard {
    /** True the first time ({@code roundId}, {@code siteId}) is recorded; false for a replay. */
    boolean record(String roundId, String siteId);

    /** True if ({@code roundId}, {@code siteId}) was recorded before. */
    boolean seen(String roundId, String siteId);
  }

  /** The context every update of the round must be bound to. */
  public record RoundContext(String studyId, int round, String roundId, long baseModelVersion) {
    public RoundContext {
      Objects.requireNonNull(studyId, "studyId");
      Objects.requireNonNull(roundId, "roundId");
    }
  }

  /** The outcome of one offered update. */
  public record Outcome(String siteId, boolean accepted, String reason) {
  }

  private final AggregationPolicy policy;
  private final Set<String> members;
  private final HpkeKeyPair enclaveKey;
  private final FastHpke hpke;
  private final UpdateKernel kernel;
  private final RoundContext round;
  private final ReplayGuard replays;
  private final int dimension;
  private final double maxSquaredNorm;
  private final byte[] plaintext;
  private float[] sum;
  private float[] spare;
  private final List<String> accepted = new ArrayList<>();
  private final Set<String> acceptedSet = new java.util.HashSet<>();
  private final Map<String, String> rejected = new LinkedHashMap<>();
  private double totalWeight;
  private double maxWeight;
  private boolean finished;

  public AggregationSession(AggregationPolicy policy, Set<String> members, HpkeKeyPair enclaveKey, FastHpke hpke,
                            UpdateKernel kernel, RoundContext round, ReplayGuard replays) {
    this.policy = policy;
    this.members = Set.copyOf(members);
    this.enclaveKey = enclaveKey;
    this.hpke = hpke;
    this.kernel = kernel;
    this.round = round;
    this.replays = replays;
    this.dimension = policy.dimension();
    this.maxSquaredNorm = policy.maxUpdateL2Norm() * policy.maxUpdateL2Norm();
    this.plaintext = new byte[dimension * Float.BYTES];
    this.sum = new float[dimension];
    this.spare = new float[dimension];
  }

  /**
   * Offers one sealed update ({@code payload[off, off+len)} = HPKE {@code enc || ciphertext}).
   * Never throws for bad input: a bad update is rejected with a reason.
   */
  public Outcome offer(String siteId, long numExamples, long baseModelVersion, String format, byte[] payload, int off,
                       int len) {
    if (finished) {
      throw new IllegalStateException("session already finished");
    }
    String reason = check(siteId, numExamples, baseModelVersion, format, len);
    if (reason == null) {
      reason = decryptValidateAndAdd(siteId, numExamples, payload, off, len);
    }
    if (reason == null) {
      accepted.add(siteId);
      acceptedSet.add(siteId);
      return new Outcome(siteId, true, "accepted");
    }
    rejected.putIfAbsent(siteId, reason);
    return new Outcome(siteId, false, reason);
  }

  private String check(String siteId, long numExamples, long baseModelVersion, String format, int len) {
    if (siteId == null || !members.contains(siteId)) {
      return "not_a_member: site '" + siteId + "' is not in the enclave's consortium configuration";
    }
    if (acceptedSet.contains(siteId) || replays.seen(round.roundId(), siteId)) {
      return tag(RejectReason.REPLAYED) + "an update from " + siteId + " for round " + round.round() + " (id "
          + round.roundId() + ") was already received";
    }
    if (numExamples < 1 || numExamples > (1L << 40)) {
      return tag(RejectReason.BAD_WEIGHT) + "num_examples must be in [1, 2^40], got " + numExamples;
    }
    if (baseModelVersion != round.baseModelVersion()) {
      return tag(RejectReason.WRONG_MODEL_VERSION) + "update is based on model version " + baseModelVersion
          + " but the round trains version " + round.baseModelVersion();
    }
    if (!UPDATE_FORMAT.equals(format)) {
      return tag(RejectReason.MALFORMED) + "payload format '" + format + "' is not " + UPDATE_FORMAT;
    }
    int body = len - FastHpke.OVERHEAD;
    if (body < 0 || body % Float.BYTES != 0) {
      return tag(RejectReason.MALFORMED) + "sealed payload of " + len + " bytes is not enc + tag + whole float32 values";
    }
    if (body / Float.BYTES != dimension) {
      return tag(RejectReason.WRONG_DIMENSION) + "update has " + body / Float.BYTES + " parameters, expected " + dimension;
    }
    return null;
  }

  private String decryptValidateAndAdd(String siteId, long numExamples, byte[] payload, int off, int len) {
    byte[] aad = aad(round, siteId, dimension);
    try {
      hpke.open(enclaveKey, payload, off, len, UPDATE_INFO, aad, plaintext, 0);
    } catch (HpkeException e) {
      return tag(RejectReason.DECRYPTION_FAILED) + "the update does not decrypt for study " + round.studyId()
          + ", round " + round.round() + ", site " + siteId + " (sealed to another key or context, or altered)";
    }
    replays.record(round.roundId(), siteId);
    // one pass: the candidate sum goes to the spare buffer, adopted only if the update is valid
    double sq = kernel.accumulateInto(plaintext, 0, dimension, (float) numExamples, sum, spare);
    if (!Double.isFinite(sq)) {
      if (UpdateKernel.firstNonFinite(plaintext, 0, dimension) >= 0) {
        return tag(RejectReason.NOT_FINITE) + "the update contains NaN or infinite values";
      }
      sq = UpdateKernel.exactSumOfSquares(plaintext, 0, dimension);
    }
    if (!(sq <= maxSquaredNorm)) {
      return tag(RejectReason.NORM_EXCEEDED) + String.format(Locale.ROOT,
          "the update's L2 norm exceeds the policy bound %.6g", policy.maxUpdateL2Norm());
    }
    float[] adopted = spare;
    spare = sum;
    sum = adopted;
    totalWeight += numExamples;
    maxWeight = Math.max(maxWeight, numExamples);
    return null;
  }

  /** The associated data an update for this round from {@code siteId} is sealed with. */
  public static byte[] aad(RoundContext round, String siteId, int dimension) {
    return UpdateAad.newBuilder()
        .setStudyId(round.studyId())
        .setRound(round.round())
        .setRoundId(round.roundId())
        .setSiteId(siteId)
        .setBaseModelVersion(round.baseModelVersion())
        .setDimension(dimension)
        .build().toByteArray();
  }

  private static String tag(RejectReason r) {
    return r.name().toLowerCase(Locale.ROOT) + ": ";
  }

  public List<String> accepted() {
    return List.copyOf(accepted);
  }

  public Map<String, String> rejected() {
    return Map.copyOf(rejected);
  }

  /**
   * The weighted mean of the accepted updates, with central Gaussian noise when the policy asks for
   * it: standard deviation z * bound * max(weight) / sum(weights), the sensitivity of the weighted
   * mean to one site's update (DP-FedAvg with public weights). Ends the session.
   *
   * @param noise the noise source; required when the policy's noise multiplier is positive
   * @throws IllegalStateException when no update was accepted
   */
  public float[] meanUpdate(GaussianNoise noise) {
    if (accepted.isEmpty()) {
      throw new IllegalStateException("no valid update to average");
    }
    finished = true;
    float[] mean = new float[dimension];
    double inv = 1.0 / totalWeight;
    for (int i = 0; i < dimension; i++) {
      mean[i] = (float) (sum[i] * inv);
    }
    close();
    double z = policy.centralNoiseMultiplier();
    if (z > 0) {
      Objects.requireNonNull(noise, "the policy asks for central noise but no GaussianNoise source is wired");
      noise.addTo(mean, z * policy.maxUpdateL2Norm() * maxWeight / totalWeight);
    }
    return mean;
  }

  /** Wipes the session's buffers (the last decrypted update and the running sum). */
  public void close() {
    finished = true;
    Arrays.fill(plaintext, (byte) 0);
    Arrays.fill(sum, 0f);
    Arrays.fill(spare, 0f);
  }

  /** Standard deviation of the central noise this session would add (0 without central DP). */
  public double noiseStddev() {
    return accepted.isEmpty() ? 0 : policy.centralNoiseMultiplier() * policy.maxUpdateL2Norm() * maxWeight / totalWeight;
  }
}

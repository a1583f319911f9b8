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
import org.cloister.aggregation.strategy.UpdateCombiner;
import org.cloister.dp.noise.GaussianNoise;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.protocol.v1.UpdateAad;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeException;
import org.cloister.trust.hpke.HpkeKeyPair;

/**
 * One round inside the enclave: updates are offered one at a time as they stream in; each is
 * checked (member, not replayed, weight, base version, dimension), decrypted into one of four
 * reused buffers, then validated (finite values, L2 norm within the policy's bound) and, if valid,
 * added to the weighted sum — so memory stays O(dimension) whatever the number of sites, and no
 * update is kept beyond its batch. Validation and summation share one pass over the decrypted
 * values, four updates at a time: the candidate sum is written to a second buffer and adopted only
 * when all four are valid (otherwise the valid ones are added one by one), so a rejected update
 * never touches the sum and the result is exactly that of adding the valid updates in arrival
 * order. Reasons name what is wrong and never a value.
 *
 * <p>When the policy's strategy combines updates robustly (an {@link UpdateCombiner}: median,
 * trimmed mean), each valid update is instead kept, decoded, in a buffer of at most
 * {@link AggregationPolicy#robustCapacity} updates ({@link AggregationPolicy#ROBUST_BUFFER_BYTES});
 * updates beyond it are rejected ({@code over_capacity}), and the buffer is wiped with the session.
 *
 * <p>Not thread-safe: one session per round, driven by one thread.
 */
public final class AggregationSession {
  /** Payload format of sealed updates. */
  public static final String UPDATE_FORMAT = "hpke-x25519-aes256gcm-stream4k-v1";
  /** HPKE info of sealed updates. */
  public static final byte[] UPDATE_INFO = "cloister/v1 update".getBytes(StandardCharsets.US_ASCII);

  /** Where replays are remembered across sessions (the enclave's memory of past rounds). */
  public interface ReplayGuard {
    /** True the first time ({@code roundId}, {@code siteId}) is recorded; false for a replay. */
    boolean record(String roundId, String siteId);

    /** True if ({@code roundId}, {@code siteId}) was recorded before. */
    boolean seen(String roundId, String siteId);

    /** A guard over {@code seen}, a set the caller keeps (and may persist) across rounds. */
    static ReplayGuard over(java.util.Set<String> seen) {
      java.util.Objects.requireNonNull(seen, "seen");
      return new ReplayGuard() {
        @Override
        public boolean record(String roundId, String siteId) {
          return seen.add(roundId + "\u0000" + siteId);
        }

        @Override
        public boolean seen(String roundId, String siteId) {
          return seen.contains(roundId + "\u0000" + siteId);
        }
      };
    }
  }

  /** The context every update of the round must be bound to. */
  public record RoundContext(String studyId, int round, String roundId, long baseModelVersion) {
    public RoundContext {
      Objects.requireNonNull(studyId, "studyId");
      Objects.requireNonNull(roundId, "roundId");
    }
  }

  private static final int BATCH = 4;

  /**
   * The O(dimension) buffers of a session (four decrypted updates, the running sum and its spare),
   * which an enclave that aggregates one round at a time hands from one session to the next instead
   * of allocating them per round; each session wipes them when it ends ({@link #close}).
   */
  public static final class Workspace {
    private final int dimension;
    private final byte[][] values = new byte[BATCH][];
    private final float[] sum;
    private final float[] spare;
    private boolean inUse;

    public Workspace(int dimension) {
      this.dimension = dimension;
      for (int i = 0; i < BATCH; i++) {
        values[i] = new byte[dimension * Float.BYTES];
      }
      this.sum = new float[dimension];
      this.spare = new float[dimension];
    }

    synchronized void acquire(int forDimension) {
      if (forDimension != dimension) {
        throw new IllegalArgumentException("workspace of dimension " + dimension + " for a session of " + forDimension);
      }
      if (inUse) {
        throw new IllegalStateException("the workspace is used by another session");
      }
      inUse = true;
    }

    synchronized void release() {
      inUse = false;
    }

    /** True when no decrypted update or sum is left in the buffers (what a finished session must leave). */
    synchronized boolean wiped() {
      for (byte[] v : values) {
        for (byte b : v) {
          if (b != 0) {
            return false;
          }
        }
      }
      for (int i = 0; i < dimension; i++) {
        if (sum[i] != 0f || spare[i] != 0f) {
          return false;
        }
      }
      return true;
    }
  }

  /** A decrypted update waiting for the next pass over the sum. */
  private static final class Pending {
    final byte[] values;
    String siteId;
    long weight;

    Pending(byte[] values) {
      this.values = values;
    }
  }

  private final AggregationPolicy policy;
  private final Set<String> members;
  private final HpkeKeyPair enclaveKey;
  private final Hpke hpke;
  private final UpdateKernel kernel;
  private final RoundContext round;
  private final ReplayGuard replays;
  private final int dimension;
  private final UpdateChecks checks;
  private final Pending[] batch = new Pending[BATCH];
  private final byte[][] batchValues = new byte[BATCH][];
  private final float[] batchWeights = new float[BATCH];
  private final double[] batchSquares = new double[BATCH];
  private int pending;
  private float[] sum;
  private float[] spare;
  private final List<String> accepted = new ArrayList<>();
  private final Map<String, String> rejected = new LinkedHashMap<>();
  private double totalWeight;
  private boolean sumWiped; // meanUpdate zeroed the sum while reading it
  private final SiteLevelCentralDp centralDp;
  private final UpdateCombiner combiner;
  private final int capacity;
  private float[][] buffered = new float[0][];
  private int bufferedCount;
  private boolean finished;
  private boolean closed;
  private final Workspace workspace;

  public AggregationSession(AggregationPolicy policy, Set<String> members, HpkeKeyPair enclaveKey, Hpke hpke,
                            UpdateKernel kernel, RoundContext round, ReplayGuard replays) {
    this(policy, members, enclaveKey, hpke, kernel, round, replays, null);
  }

  /**
   * @param workspace buffers to work in (one session at a time; wiped when this session ends), or null
   *     to allocate this session's own
   */
  public AggregationSession(AggregationPolicy policy, Set<String> members, HpkeKeyPair enclaveKey, Hpke hpke,
                            UpdateKernel kernel, RoundContext round, ReplayGuard replays, Workspace workspace) {
    this.policy = policy;
    this.members = Set.copyOf(members);
    this.enclaveKey = enclaveKey;
    this.hpke = hpke;
    this.kernel = kernel;
    this.round = round;
    this.replays = replays;
    this.dimension = policy.dimension();
    this.checks = new UpdateChecks(dimension, policy.maxUpdateL2Norm());
    this.workspace = workspace != null ? workspace : new Workspace(dimension);
    this.workspace.acquire(dimension);
    for (int i = 0; i < BATCH; i++) {
      batch[i] = new Pending(this.workspace.values[i]);
      batchValues[i] = batch[i].values;
    }
    this.centralDp = policy.centralDp() == null ? null : new SiteLevelCentralDp(policy.centralDp(), dimension);
    this.combiner = policy.combiner().orElse(null);
    this.capacity = AggregationPolicy.robustCapacity(dimension);
    boolean streaming = centralDp == null && combiner == null;
    this.sum = streaming ? this.workspace.sum : new float[0];
    this.spare = streaming ? this.workspace.spare : new float[0];
  }

  /**
   * Offers one sealed update ({@code payload[off, off+len)} = HPKE {@code enc || ciphertext}).
   * Never throws for bad input. Checks that need no decryption, and decryption itself, are decided
   * here; the value checks (finite, norm) are decided when the update's batch of four is summed,
   * at the latest by {@link #accepted()}, {@link #rejected()} or {@link #meanUpdate}.
   */
  public void offer(String siteId, long numExamples, long baseModelVersion, String format, byte[] payload, int off,
                    int len) {
    if (finished) {
      throw new IllegalStateException("session already finished");
    }
    String reason = check(siteId, numExamples, baseModelVersion, format, len);
    if (reason == null) {
      reason = decrypt(siteId, numExamples, payload, off, len);
    }
    if (reason != null) {
      rejected.putIfAbsent(siteId, reason);
    } else if (pending == BATCH) {
      settle();
    }
  }

  /** Records an update refused before the session saw it (e.g. its statement did not verify). */
  public void reject(String label, String reason) {
    if (finished) {
      throw new IllegalStateException("session already finished");
    }
    rejected.putIfAbsent(label, reason);
  }

  private String check(String siteId, long numExamples, long baseModelVersion, String format, int len) {
    if (siteId == null || !members.contains(siteId)) {
      return "not_a_member: site '" + siteId + "' is not in the enclave's consortium configuration";
    }
    if (replays.seen(round.roundId(), siteId)) {
      return tag(RejectReason.REPLAYED) + "an update from " + siteId + " for round " + round.round() + " (id "
          + round.roundId() + ") was already received";
    }
    String weight = UpdateChecks.weightProblem(numExamples);
    if (weight != null) {
      return weight;
    }
    if (baseModelVersion != round.baseModelVersion()) {
      return tag(RejectReason.WRONG_MODEL_VERSION) + "update is based on model version " + baseModelVersion
          + " but the round trains version " + round.baseModelVersion();
    }
    if (!UPDATE_FORMAT.equals(format)) {
      return tag(RejectReason.MALFORMED) + "payload format '" + format + "' is not " + UPDATE_FORMAT;
    }
    int body = Hpke.streamPlaintextLength(len);
    if (body < 0 || body % Float.BYTES != 0) {
      return tag(RejectReason.MALFORMED) + "sealed payload of " + len
          + " bytes is not enc + 4096-byte segments with their tags + whole float32 values";
    }
    return checks.dimensionProblem(body / Float.BYTES);
  }

  /** Decrypts into the next free batch slot; null when it worked. */
  private String decrypt(String siteId, long numExamples, byte[] payload, int off, int len) {
    Pending slot = batch[pending];
    byte[] aad = aad(round, siteId, dimension);
    try {
      hpke.openStream(enclaveKey, payload, off, len, UPDATE_INFO, aad, slot.values, 0);
    } catch (HpkeException e) {
      return tag(RejectReason.DECRYPTION_FAILED) + "the update does not decrypt for study " + round.studyId()
          + ", round " + round.round() + ", site " + siteId + " (sealed to another key or context, or altered)";
    }
    replays.record(round.roundId(), siteId);
    slot.siteId = siteId;
    slot.weight = numExamples;
    pending++;
    return null;
  }

  /**
   * Sums the pending updates. A full batch goes through the sum in one pass into the spare buffer,
   * adopted if all four are valid; otherwise (or for a partial batch) each update is checked and
   * summed on its own, so a rejected update never touches the sum and the result is bit for bit
   * the same as adding the valid updates one by one in arrival order.
   */
  private void settle() {
    if (centralDp != null) {
      settleClipped();
    } else if (combiner != null) {
      settleBuffered();
    } else if (pending == BATCH) {
      for (int j = 0; j < BATCH; j++) {
        batchWeights[j] = batch[j].weight;
      }
      kernel.accumulate4(batchValues, batchWeights, dimension, sum, spare, batchSquares);
      boolean allValid = true;
      String[] reasons = new String[BATCH];
      for (int j = 0; j < BATCH; j++) {
        reasons[j] = validate(batch[j], batchSquares[j]);
        allValid &= reasons[j] == null;
      }
      if (allValid) {
        swap();
      }
      for (int j = 0; j < BATCH; j++) {
        if (reasons[j] == null) {
          if (!allValid) {
            kernel.accumulateInto(batch[j].values, 0, dimension, batchWeights[j], sum, sum);
          }
          accept(batch[j]);
        } else {
          rejected.putIfAbsent(batch[j].siteId, reasons[j]);
        }
      }
    } else {
      for (int j = 0; j < pending; j++) {
        Pending u = batch[j];
        double sq = kernel.accumulateInto(u.values, 0, dimension, (float) u.weight, sum, spare);
        String reason = validate(u, sq);
        if (reason == null) {
          swap();
          accept(u);
        } else {
          rejected.putIfAbsent(u.siteId, reason);
        }
      }
    }
    pending = 0;
  }

  /** Central DP: each valid update is clipped to the policy's norm and added with weight 1. */
  private void settleClipped() {
    for (int j = 0; j < pending; j++) {
      Pending u = batch[j];
      double sq = UpdateKernel.exactSumOfSquares(u.values, 0, dimension);
      String reason = validate(u, sq);
      if (reason == null) {
        centralDp.add(u.values, 0, sq);
        accept(u);
      } else {
        rejected.putIfAbsent(u.siteId, reason);
      }
    }
    pending = 0;
  }

  /** Robust rule: each valid update is decoded into the bounded buffer. */
  private void settleBuffered() {
    for (int j = 0; j < pending; j++) {
      Pending u = batch[j];
      String reason = validate(u, UpdateKernel.exactSumOfSquares(u.values, 0, dimension));
      if (reason == null && bufferedCount == capacity) {
        reason = "over_capacity: strategy " + policy.strategy().name() + " keeps at most " + capacity
            + " updates of this dimension per round in enclave memory";
      }
      if (reason == null) {
        if (bufferedCount == buffered.length) {
          buffered = Arrays.copyOf(buffered, Math.min(capacity, Math.max(4, 2 * buffered.length)));
        }
        float[] row = buffered[bufferedCount] == null ? new float[dimension] : buffered[bufferedCount];
        for (int i = 0; i < dimension; i++) {
          row[i] = ScalarKernel.get(u.values, i * Float.BYTES);
        }
        buffered[bufferedCount++] = row;
        accept(u);
      } else {
        rejected.putIfAbsent(u.siteId, reason);
      }
    }
    pending = 0;
  }

  private String validate(Pending u, double squares) {
    return checks.valueProblem(u.values, 0, squares);
  }

  private void accept(Pending u) {
    accepted.add(u.siteId);
    totalWeight += u.weight;
  }

  private void swap() {
    float[] t = spare;
    spare = sum;
    sum = t;
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
    return UpdateChecks.tag(r);
  }

  /** Sites whose updates went into the sum, in arrival order (settles pending updates first). */
  public List<String> accepted() {
    if (!finished) {
      settle();
    }
    return List.copyOf(accepted);
  }

  /** Rejected sites and why (settles pending updates first). */
  public Map<String, String> rejected() {
    if (!finished) {
      settle();
    }
    return Map.copyOf(rejected);
  }

  /**
   * The released update. Without central DP: the mean of the accepted updates weighted by their
   * example counts, or the strategy's robust combination of them. With central DP ({@link SiteLevelCentralDp}): the sum of the clipped updates
   * plus Gaussian noise of standard deviation z * S, divided by the policy's public denominator.
   * Ends the session.
   *
   * @param noise the noise source; required when the policy asks for central DP
   * @throws IllegalStateException when no update was accepted
   */
  public float[] meanUpdate(GaussianNoise noise) {
    if (!finished) {
      settle();
    }
    if (accepted.isEmpty()) {
      throw new IllegalStateException("no valid update to average");
    }
    finished = true;
    float[] mean = new float[dimension];
    if (centralDp != null) {
      Objects.requireNonNull(noise, "the policy asks for central DP but no GaussianNoise source is wired");
      double[] released = centralDp.release(noise);
      for (int i = 0; i < dimension; i++) {
        mean[i] = (float) released[i];
      }
      Arrays.fill(released, 0);
    } else if (combiner != null) {
      float[] combined = combiner.combine(buffered, bufferedCount, dimension);
      System.arraycopy(combined, 0, mean, 0, dimension);
      Arrays.fill(combined, 0f);
    } else {
      double inv = 1.0 / totalWeight;
      for (int i = 0; i < dimension; i++) {
        mean[i] = (float) (sum[i] * inv);
        sum[i] = 0f; // wiped in the same pass (close() need not go over it again)
      }
      sumWiped = true;
    }
    close();
    return mean;
  }

  /**
   * Wipes the session's buffers (decrypted updates and the running sum) and hands its workspace back.
   * Only the first call does anything: a later one must not touch a workspace another session holds by then.
   */
  public void close() {
    finished = true;
    if (closed) {
      return;
    }
    closed = true;
    pending = 0;
    for (Pending p : batch) {
      Arrays.fill(p.values, (byte) 0);
    }
    if (!sumWiped) {
      Arrays.fill(sum, 0f);
    }
    Arrays.fill(spare, 0f);
    for (float[] row : buffered) {
      if (row != null) {
        Arrays.fill(row, 0f);
      }
    }
    bufferedCount = 0;
    if (centralDp != null) {
      centralDp.wipe();
    }
    workspace.release();
  }

  /**
   * Standard deviation of the central noise on the released update: z * S / W from the policy
   * (whoever took part), 0 without central DP.
   */
  public double noiseStddev() {
    return centralDp == null ? 0 : centralDp.meanNoiseStddev();
  }

  /** What one release spends per site (the Gaussian mechanism at the site level), or null without central DP. */
  public org.cloister.dp.events.DpEvent centralDpEvent() {
    return centralDp == null ? null : centralDp.event();
  }
}

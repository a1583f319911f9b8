package org.cloister.enclave.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.cloister.aggregation.FedAvg;
import org.cloister.aggregation.WeightedUpdate;
import org.cloister.dp.noise.GaussianNoise;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.protocol.FloatCodec;
import org.cloister.trust.hpke.Hpke;
import org.cloister.trust.hpke.HpkeKeyPair;
import org.junit.jupiter.api.Test;

class AggregationSessionTest {
  private static final int DIM = 1003; // not a multiple of any vector length: exercises the tails
  private static final Set<String> MEMBERS = Set.of("site-1", "site-2", "site-3", "site-4", "site-5");
  private final Hpke hpke = new Hpke();
  private final HpkeKeyPair enclave = hpke.generateKeyPair();
  private final AggregationSession.RoundContext round = new AggregationSession.RoundContext("study", 3, "rid-3", 7);

  static AggregationPolicy policy(double bound, double noise) {
    return policy(bound, noise > 0 ? new AggregationPolicy.CentralDp(bound, noise, 4, 10, 1e-5) : null);
  }

  static AggregationPolicy policy(double bound, AggregationPolicy.CentralDp centralDp) {
    return new AggregationPolicy(AggregationPolicy.FORMAT, "study", "m", DIM, bound, 1, 2, centralDp,
        AggregationPolicy.FEDAVG);
  }

  static final class MemoryGuard implements AggregationSession.ReplayGuard {
    final Set<String> seen = new HashSet<>();

    @Override
    public boolean record(String roundId, String siteId) {
      return seen.add(roundId + "/" + siteId);
    }

    @Override
    public boolean seen(String roundId, String siteId) {
      return seen.contains(roundId + "/" + siteId);
    }
  }

  private AggregationSession session(AggregationPolicy p, UpdateKernel kernel, AggregationSession.ReplayGuard guard) {
    return new AggregationSession(p, MEMBERS, enclave, new Hpke(), kernel, round, guard);
  }

  /** What a site sends: the streaming HPKE form, bound to round and site. */
  private byte[] seal(String site, AggregationSession.RoundContext r, float[] delta) throws Exception {
    return hpke.sealStream(enclave.publicKey(), AggregationSession.UPDATE_INFO,
        AggregationSession.aad(r, site, delta.length), FloatCodec.encode(delta));
  }

  private static void offer(AggregationSession s, String site, long n, byte[] payload) {
    s.offer(site, n, 7, AggregationSession.UPDATE_FORMAT, payload, 0, payload.length);
  }

  private static String reason(AggregationSession s, String site) {
    return s.rejected().get(site);
  }

  static float[] randomDelta(long seed, int dim, double scale) {
    Random rnd = new Random(seed);
    float[] d = new float[dim];
    for (int i = 0; i < dim; i++) {
      d[i] = (float) (rnd.nextGaussian() * scale);
    }
    return d;
  }

  @Test
  void weightedMeanMatchesTheReferenceFedAvgAndBothKernelsAgreeBitForBit() throws Exception {
    List<WeightedUpdate> ref = new ArrayList<>();
    AggregationSession vector = session(policy(10, 0), UpdateKernel.best(), new MemoryGuard());
    AggregationSession scalar = session(policy(10, 0), new ScalarKernel(), new MemoryGuard());
    assertThat(UpdateKernel.best().name()).startsWith("vector-"); // surefire runs with --add-modules jdk.incubator.vector
    for (int k = 1; k <= 4; k++) {
      float[] d = randomDelta(k, DIM, 0.05);
      long n = 10L * k + 3;
      ref.add(new WeightedUpdate("site-" + k, d, n));
      byte[] payload = seal("site-" + k, round, d);
      offer(vector, "site-" + k, n, payload);
      offer(scalar, "site-" + k, n, payload);
    }
    float[] expected = FedAvg.weightedMeanDelta(DIM, ref);
    float[] v = vector.meanUpdate(null);
    float[] s = scalar.meanUpdate(null);
    assertThat(java.util.Arrays.equals(v, s)).as("vector and scalar kernels agree bit for bit").isTrue();
    for (int i = 0; i < DIM; i++) {
      assertThat(v[i]).isCloseTo(expected[i], within(1e-6f));
    }
    assertThat(vector.accepted()).containsExactly("site-1", "site-2", "site-3", "site-4");
  }

  @Test
  void sessionsSharingAWorkspaceGiveTheFreshResultAndALateCloseOfTheOldOneLeavesTheNewOneAlone() throws Exception {
    AggregationSession.Workspace ws = new AggregationSession.Workspace(DIM);
    float[][] deltas = new float[5][];
    byte[][] payloads = new byte[5][];
    for (int k = 1; k <= 5; k++) {
      deltas[k - 1] = randomDelta(100 + k, DIM, 0.05);
      payloads[k - 1] = seal("site-" + k, round, deltas[k - 1]);
    }
    AggregationSession fresh = session(policy(10, 0), UpdateKernel.best(), new MemoryGuard());
    for (int k = 1; k <= 5; k++) {
      offer(fresh, "site-" + k, k, payloads[k - 1]);
    }
    float[] expected = fresh.meanUpdate(null);

    // round one leaves its sum and decrypted updates in the workspace (then wipes them)
    AggregationSession first = new AggregationSession(policy(10, 0), MEMBERS, enclave, new Hpke(),
        UpdateKernel.best(), round, new MemoryGuard(), ws);
    for (int k = 1; k <= 5; k++) {
      offer(first, "site-" + k, 1, payloads[k - 1]);
    }
    first.meanUpdate(null);
    assertThatThrownBy(() -> new AggregationSession(policy(10, 0), MEMBERS, enclave, new Hpke(),
        UpdateKernel.best(), round, new MemoryGuard(), new AggregationSession.Workspace(DIM + 1)))
        .hasMessageContaining("dimension");
    AggregationSession second = new AggregationSession(policy(10, 0), MEMBERS, enclave, new Hpke(),
        UpdateKernel.best(), round, new MemoryGuard(), ws);
    // one session at a time per workspace
    assertThatThrownBy(() -> new AggregationSession(policy(10, 0), MEMBERS, enclave, new Hpke(),
        UpdateKernel.best(), round, new MemoryGuard(), ws)).isInstanceOf(IllegalStateException.class);
    for (int k = 1; k <= 5; k++) {
      offer(second, "site-" + k, k, payloads[k - 1]);
      first.close(); // the host's late cleanup of the old call: must neither wipe nor release the new session's buffers
    }
    assertThat(second.meanUpdate(null)).containsExactly(expected);
    assertThat(second.accepted()).containsExactly("site-1", "site-2", "site-3", "site-4", "site-5");
  }

  @Test
  void aFinishedSessionLeavesNoDecryptedUpdateOrSumInItsWorkspace() throws Exception {
    for (int n : new int[] {3, 4, 5}) { // a partial batch, a full one, one of each
      AggregationSession.Workspace ws = new AggregationSession.Workspace(DIM);
      AggregationSession s = new AggregationSession(policy(10, 0), MEMBERS, enclave, new Hpke(), UpdateKernel.best(),
          round, new MemoryGuard(), ws);
      for (int k = 1; k <= n; k++) {
        offer(s, "site-" + k, k, seal("site-" + k, round, randomDelta(200 + k, DIM, 0.05)));
      }
      assertThat(s.meanUpdate(null)).isNotEqualTo(new float[DIM]);
      assertThat(ws.wiped()).as("workspace after %d updates", n).isTrue();
    }
  }

  @Test
  void nanWrongDimensionAndExcessiveNormAreRejectedWithReasonsAndTheOthersAggregated() throws Exception {
    AggregationSession s = session(policy(1.0, 0), UpdateKernel.best(), new MemoryGuard());
    float[] good = randomDelta(1, DIM, 0.01);
    float[] nan = randomDelta(2, DIM, 0.01);
    nan[500] = Float.NaN;
    float[] inf = randomDelta(3, DIM, 0.01);
    inf[DIM - 1] = Float.NEGATIVE_INFINITY; // in the scalar tail
    float[] big = randomDelta(4, DIM, 1.0);  // norm ~ 31.7 > 1
    float[] huge = new float[DIM];
    huge[10] = 1e30f;                        // finite, but its square overflows float
    float[] shortOne = randomDelta(5, DIM - 1, 0.01);

    offer(s, "site-1", 5, seal("site-1", round, good));
    offer(s, "site-2", 5, seal("site-2", round, nan));
    offer(s, "site-3", 5, seal("site-3", round, inf));
    offer(s, "site-4", 5, seal("site-4", round, big));
    offer(s, "site-5", 5, seal("site-5", round, huge));
    assertThat(reason(s, "site-2")).isEqualTo("not_finite: the update contains NaN or infinite values");
    assertThat(reason(s, "site-3")).startsWith("not_finite:");
    assertThat(reason(s, "site-4")).isEqualTo("norm_exceeded: the update's L2 norm exceeds the policy bound 1.00000");
    assertThat(reason(s, "site-5")).startsWith("norm_exceeded:");
    AggregationSession s2 = session(policy(1.0, 0), UpdateKernel.best(), new MemoryGuard());
    offer(s2, "site-5", 5, seal("site-5", round, shortOne));
    assertThat(reason(s2, "site-5")).isEqualTo("wrong_dimension: update has 1002 parameters, expected 1003");

    assertThat(s.accepted()).containsExactly("site-1");
    assertThat(s.rejected()).containsOnlyKeys("site-2", "site-3", "site-4", "site-5");
    float[] mean = s.meanUpdate(null); // only the valid update went into the sum (5 * x / 5, up to rounding)
    for (int i = 0; i < DIM; i++) {
      assertThat(mean[i]).isCloseTo(good[i], within(1e-7f));
    }
  }

  @Test
  void replaysRelabellingWrongRoundNonMembersAndBadWeightsAreRejected() throws Exception {
    MemoryGuard guard = new MemoryGuard();
    AggregationSession s = session(policy(10, 0), UpdateKernel.best(), guard);
    float[] d = randomDelta(1, DIM, 0.01);
    byte[] fromSite1 = seal("site-1", round, d);
    offer(s, "site-1", 5, fromSite1);
    offer(s, "site-1", 5, fromSite1);
    assertThat(s.accepted()).containsExactly("site-1");
    assertThat(reason(s, "site-1")).startsWith("replayed:");
    // the host relabels site-1's update as site-2's: the aad no longer matches
    offer(s, "site-2", 5, fromSite1);
    assertThat(reason(s, "site-2")).startsWith("decryption_failed:");
    // an update sealed for another round id
    offer(s, "site-3", 5, seal("site-3", new AggregationSession.RoundContext("study", 3, "rid-OTHER", 7), d));
    assertThat(reason(s, "site-3")).startsWith("decryption_failed:");
    offer(s, "site-9", 5, seal("site-9", round, d));
    assertThat(reason(s, "site-9")).startsWith("not_a_member:");
    offer(s, "site-4", 0, seal("site-4", round, d));
    assertThat(reason(s, "site-4")).startsWith("bad_weight:");
    AggregationSession t = session(policy(10, 0), UpdateKernel.best(), new MemoryGuard());
    t.offer("site-4", 5, 6, AggregationSession.UPDATE_FORMAT, fromSite1, 0, fromSite1.length);
    assertThat(reason(t, "site-4")).startsWith("wrong_model_version:");
    t.offer("site-5", 5, 7, "f32le-delta", fromSite1, 0, fromSite1.length);
    assertThat(reason(t, "site-5")).startsWith("malformed:");

    // a later session of the same round id (the host replays the round): site-1 is remembered
    AggregationSession again = session(policy(10, 0), UpdateKernel.best(), guard);
    offer(again, "site-1", 5, fromSite1);
    assertThat(reason(again, "site-1")).startsWith("replayed:");
  }

  @Test
  void batchesOfFourGiveExactlyTheSumOfTheValidUpdatesInArrivalOrder() throws Exception {
    Set<String> many = new java.util.HashSet<>();
    for (int k = 1; k <= 11; k++) {
      many.add("s" + k);
    }
    for (UpdateKernel kernel : List.of(UpdateKernel.best(), new ScalarKernel())) {
      AggregationSession mixed = new AggregationSession(policy(1.0, 0), many, enclave, new Hpke(), kernel, round,
          new MemoryGuard());
      AggregationSession validOnly = new AggregationSession(policy(1.0, 0), many, enclave, new Hpke(), kernel, round,
          new MemoryGuard());
      List<String> expected = new ArrayList<>();
      for (int k = 1; k <= 11; k++) {
        boolean bad = k == 3 || k == 6 || k == 7; // two in the second batch, one in the first
        float[] d = randomDelta(100 + k, DIM, bad ? 1.0 : 0.01);
        byte[] p = seal("s" + k, round, d);
        offer(mixed, "s" + k, k, p);
        if (!bad) {
          offer(validOnly, "s" + k, k, p);
          expected.add("s" + k);
        }
      }
      assertThat(mixed.accepted()).containsExactlyElementsOf(expected);
      assertThat(mixed.rejected()).containsOnlyKeys("s3", "s6", "s7");
      assertThat(java.util.Arrays.equals(mixed.meanUpdate(null), validOnly.meanUpdate(null)))
          .as("kernel %s: rejected updates leave no trace in the sum", kernel.name()).isTrue();
    }
  }

  @Test
  void centralNoiseScaleIsFixedByThePolicyNotByWhoTookPartOrTheirWeights() throws Exception {
    // z = 1.5, S = 2, public denominator W = 4: the released update's noise std is z S / W = 0.75
    AggregationPolicy.CentralDp dp = new AggregationPolicy.CentralDp(2.0, 1.5, 4, 10, 1e-5);
    float[] zero = new float[DIM];
    AggregationSession two = session(policy(100, dp), new ScalarKernel(), new MemoryGuard());
    offer(two, "site-1", 30, seal("site-1", round, zero));
    offer(two, "site-2", 10, seal("site-2", round, zero));
    AggregationSession one = session(policy(100, dp), new ScalarKernel(), new MemoryGuard());
    offer(one, "site-1", 1L << 40, seal("site-1", round, zero)); // a host-inflated weight changes nothing
    assertThat(two.noiseStddev()).isEqualTo(one.noiseStddev()).isEqualTo(1.5 * 2.0 / 4);
    // and measured: the empirical std of the released coordinates (seeded secure noise) is 0.75 for both sets
    for (AggregationSession s : List.of(one, two)) {
      float[] mean = s.meanUpdate(org.cloister.dp.noise.SecureGaussianNoise.seeded(11));
      double sq = 0;
      for (float v : mean) {
        sq += (double) v * v;
      }
      assertThat(Math.sqrt(sq / DIM)).isCloseTo(0.75, within(0.75 * 0.07)); // 1003 samples: ~2.2% sd
    }
  }

  @Test
  void underCentralDpEveryUpdateIsClippedToThePolicyNormAndSummedWithEqualWeights() throws Exception {
    // z = 1e-3: noise std 5e-4 on the mean, a tenth of the tolerance below, so the release shows the clipped sum
    AggregationPolicy.CentralDp dp = new AggregationPolicy.CentralDp(1.0, 1e-3, 2, 10, 1e-5);
    AggregationSession s = session(policy(Float.MAX_VALUE, dp), new ScalarKernel(), new MemoryGuard());
    float[] small = new float[DIM];
    small[0] = 0.5f;
    float[] huge = new float[DIM];
    java.util.Arrays.fill(huge, 1e30f); // an adversarial update, finite but enormous
    float[] nan = new float[DIM];
    nan[5] = Float.NaN;
    offer(s, "site-1", 1, seal("site-1", round, small));
    offer(s, "site-2", 1L << 40, seal("site-2", round, huge));
    offer(s, "site-3", 7, seal("site-3", round, nan));
    assertThat(s.accepted()).containsExactly("site-1", "site-2");
    assertThat(reason(s, "site-3")).startsWith("not_finite");
    float[] mean = s.meanUpdate(org.cloister.dp.noise.SecureGaussianNoise.seeded(5));
    // (0.5 e0 + huge clipped to norm 1) / 2: the huge update contributes 1/sqrt(DIM) per coordinate
    double c = 1.0 / Math.sqrt(DIM);
    assertThat(mean[0]).isCloseTo((float) ((0.5 + c) / 2), within(5e-3f));
    assertThat(mean[1]).isCloseTo((float) (c / 2), within(5e-3f));
  }

  /**
   * The coordinate-wise median needs every update of the round in the enclave: one hostile site's
   * huge (in-bound) update moves the weighted mean but not the median; an invalid one is still rejected.
   */
  @Test
  void aRobustStrategyCombinesTheBufferedUpdatesInsideTheEnclave() throws Exception {
    AggregationPolicy median = new AggregationPolicy(AggregationPolicy.FORMAT, "study", "m", DIM, 1e9, 1, 2, null,
        new org.cloister.aggregation.strategy.StrategySpec("median", java.util.Map.of("server_lr", 1.0)));
    AggregationSession s = session(median, new ScalarKernel(), new MemoryGuard());
    float[][] deltas = new float[5][];
    for (int k = 0; k < 4; k++) {
      deltas[k] = new float[DIM];
      java.util.Arrays.fill(deltas[k], k + 1f);
      offer(s, "site-" + (k + 1), 10 * (k + 1), seal("site-" + (k + 1), round, deltas[k]));
    }
    float[] hostile = new float[DIM];
    java.util.Arrays.fill(hostile, 1e4f);
    offer(s, "site-5", 1_000_000, seal("site-5", round, hostile));
    assertThat(s.accepted()).hasSize(5);
    float[] out = s.meanUpdate(null);
    // median of {1, 2, 3, 4, 1e4} = 3 in every coordinate, whatever the example counts
    for (float v : out) {
      assertThat(v).isEqualTo(3f);
    }
    AggregationSession bad = session(median, new ScalarKernel(), new MemoryGuard());
    float[] nan = new float[DIM];
    nan[5] = Float.NaN;
    offer(bad, "site-1", 1, seal("site-1", round, nan));
    offer(bad, "site-2", 1, seal("site-2", round, deltas[0]));
    assertThat(reason(bad, "site-1")).startsWith("not_finite");
    assertThat(bad.meanUpdate(null)[0]).isEqualTo(1f);
  }

  @Test
  void aRobustStrategyIsRefusedWithCentralDpOrWhenItsBufferCannotHoldACohort() {
    org.cloister.aggregation.strategy.StrategySpec trimmed = new org.cloister.aggregation.strategy.StrategySpec(
        "trimmed_mean", java.util.Map.of("trim", 0.1, "server_lr", 1.0));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new AggregationPolicy(AggregationPolicy.FORMAT, "study", "m",
        DIM, 1.0, 1, 2, new AggregationPolicy.CentralDp(1.0, 1.0, 4, 10, 1e-5), trimmed))
        .hasMessageContaining("cannot be combined");
    int huge = (int) (AggregationPolicy.ROBUST_BUFFER_BYTES / Float.BYTES / 2); // two updates fill the buffer
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new AggregationPolicy(AggregationPolicy.FORMAT, "study", "m",
        huge, 1.0, 1, 3, null, trimmed)).hasMessageContaining("only 2 fit in 256 MiB, fewer than the 3");
    assertThat(AggregationPolicy.robustCapacity(huge)).isEqualTo(2);
  }
}

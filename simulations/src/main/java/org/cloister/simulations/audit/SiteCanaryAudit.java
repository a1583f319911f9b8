package org.cloister.simulations.audit;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.cloister.audit.AuditResult;
import org.cloister.audit.OneRunAuditor;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.noise.GridGaussian;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.aggregation.SiteLevelCentralDp;

/**
 * Federated canary sites (Andrew et al. 2024, "One-shot empirical privacy estimation for federated
 * learning"): m canary sites whose update is a random unit direction scaled to the clip norm S, each
 * included in every round independently with probability 1/2 (secret seed), beside background sites
 * with random updates. Each round is released by the enclave's real central-DP arithmetic
 * ({@link SiteLevelCentralDp}, in process: clip, grid rounding, exact discrete Gaussian noise,
 * public denominator). A canary is scored by the cosine between its direction and the released
 * deltas: per round and summed over the study (the study score feeds the one-run lower bound).
 *
 * <p>Two estimates: the one-run lower bound (a statistical test at confidence 1 - beta) and the
 * paper's estimate, which fits a Gaussian to the excluded canaries' study cosines (the null) and
 * reports the epsilon at delta of the Gaussian mechanism with mu = (mean_in - mean_out) / sd_out (an
 * estimate, not a bound). Without central DP the release is the plain mean, the accountant's epsilon
 * is infinite and the verdict is {@value #NOT_PROTECTED}.
 */
public final class SiteCanaryAudit {
  /** The verdict when the site level has no central DP: epsilon is infinite, nothing to be consistent with. */
  public static final String NOT_PROTECTED = "not_protected";

  /**
   * @param canaries m canary sites
   * @param backgroundSites ordinary sites (random updates within the clip norm) in every round
   * @param dimension the model's parameter count d
   * @param rounds T releases
   * @param noiseMultiplier z of the enclave's central DP; 0 = no central DP (plain mean)
   * @param assumedNoiseMultiplier z' the accountant is told (equal to z for a real audit)
   * @param clipNorm S
   * @param delta delta of the accountant's bound and of the test
   * @param beta 1 - confidence
   * @param seed inclusion bits, directions, background and noise (simulation only)
   */
  public record Settings(int canaries, int backgroundSites, int dimension, int rounds, double noiseMultiplier,
                         double assumedNoiseMultiplier, double clipNorm, double delta, double beta, long seed) {
    public Settings {
      if (canaries < 2) {
        throw new IllegalArgumentException("an audit needs at least 2 canary sites, got " + canaries);
      }
      if (backgroundSites < 0) {
        throw new IllegalArgumentException("background sites must be >= 0, got " + backgroundSites);
      }
      if (dimension < 2) {
        throw new IllegalArgumentException("dimension must be >= 2, got " + dimension);
      }
      if (rounds < 1) {
        throw new IllegalArgumentException("rounds must be >= 1, got " + rounds);
      }
      if (!(noiseMultiplier >= 0) || Double.isInfinite(noiseMultiplier)) {
        throw new IllegalArgumentException("noise multiplier must be >= 0 (0: no central DP) and finite, got "
            + noiseMultiplier);
      }
      if (!(assumedNoiseMultiplier >= 0) || Double.isInfinite(assumedNoiseMultiplier)) {
        throw new IllegalArgumentException("assumed noise multiplier must be >= 0 and finite, got "
            + assumedNoiseMultiplier);
      }
      if (!(clipNorm > 0) || Double.isInfinite(clipNorm)) {
        throw new IllegalArgumentException("clip norm must be > 0 and finite, got " + clipNorm);
      }
      if (!(delta > 0 && delta < 1)) {
        throw new IllegalArgumentException("delta must be in (0, 1), got " + delta);
      }
      if (!(beta > 0 && beta < 1)) {
        throw new IllegalArgumentException("beta (1 - confidence) must be in (0, 1), got " + beta);
      }
    }
  }

  /**
   * @param result one-run statistics on the study scores
   * @param epsilonUpperBound the accountant's epsilon (RDP, T x Gaussian(z')); infinite without central DP
   * @param epsilonEstimate Andrew et al.'s Gaussian-fit estimate on the study scores
   * @param roundEstimates the same estimate on each round's cosines
   * @param verdict consistent, violation or not_protected
   */
  public record Outcome(Settings settings, AuditResult result, double epsilonUpperBound, double epsilonEstimate,
                        double[] roundEstimates, String verdict, double[] scores, boolean[] included) {
    public Outcome {
      roundEstimates = roundEstimates.clone();
      scores = scores.clone();
      included = included.clone();
    }

    @Override
    public double[] roundEstimates() {
      return roundEstimates.clone();
    }

    @Override
    public double[] scores() {
      return scores.clone();
    }

    @Override
    public boolean[] included() {
      return included.clone();
    }
  }

  private final Settings s;

  public SiteCanaryAudit(Settings settings) {
    this.s = settings;
  }

  /** The accountant's epsilon at delta for T releases of Gaussian(z'); infinite when z' = 0. */
  public static double accountantEpsilon(Settings s) {
    if (s.assumedNoiseMultiplier() == 0) {
      return Double.POSITIVE_INFINITY;
    }
    RdpAccountant acc = new RdpAccountant();
    acc.compose(new GaussianEvent(s.assumedNoiseMultiplier()), s.rounds());
    return acc.epsilon(s.delta());
  }

  public Outcome run(IntConsumer progress) {
    int m = s.canaries();
    int d = s.dimension();
    SplittableRandom root = new SplittableRandom(s.seed());
    SplittableRandom bits = root.split();
    SplittableRandom dirs = root.split();
    SplittableRandom background = root.split();
    SecureGaussianNoise noise = SecureGaussianNoise.seeded(root.nextLong());
    boolean[] included = new boolean[m];
    double[][] u = new double[m][];
    for (int i = 0; i < m; i++) {
      included[i] = bits.nextBoolean();
      u[i] = unit(dirs, d);
    }
    int cohort = s.backgroundSites() + m;
    AggregationPolicy.CentralDp spec = s.noiseMultiplier() > 0
        ? new AggregationPolicy.CentralDp(s.clipNorm(), s.noiseMultiplier(), cohort, s.rounds(), s.delta()) : null;
    double[] total = new double[d];
    double[][] roundScores = new double[s.rounds()][m];
    double[] roundEstimates = new double[s.rounds()];
    for (int t = 0; t < s.rounds(); t++) {
      double[] release = spec != null ? centralDpRound(spec, u, included, background, noise)
          : plainMeanRound(u, included, background, cohort);
      for (int j = 0; j < d; j++) {
        total[j] += release[j];
      }
      for (int i = 0; i < m; i++) {
        roundScores[t][i] = cosine(u[i], release);
      }
      roundEstimates[t] = gaussianFitEpsilon(roundScores[t], included, s.delta());
      progress.accept(t + 1);
    }
    double[] scores = new double[m];
    for (int i = 0; i < m; i++) {
      scores[i] = cosine(u[i], total);
    }
    double upper = accountantEpsilon(s);
    double hypothesisDelta = Double.isInfinite(upper) ? s.delta()
        : s.delta() + GridGaussian.discretisationDelta(d, s.rounds(), upper);
    AuditResult result = new OneRunAuditor(s.beta(), hypothesisDelta).audit(scores, included);
    String verdict = Double.isInfinite(upper) ? NOT_PROTECTED
        : result.epsilonLowerBound() > upper ? AuditOutcome.VIOLATION : AuditOutcome.CONSISTENT;
    return new Outcome(s, result, upper, gaussianFitEpsilon(scores, included, s.delta()), roundEstimates, verdict,
        scores, included);
  }

  private double[] centralDpRound(AggregationPolicy.CentralDp spec, double[][] u, boolean[] included,
                                  SplittableRandom background, SecureGaussianNoise noise) {
    SiteLevelCentralDp dp = new SiteLevelCentralDp(spec, s.dimension());
    for (int b = 0; b < s.backgroundSites(); b++) {
      add(dp, backgroundUpdate(background));
    }
    for (int i = 0; i < u.length; i++) {
      if (included[i]) {
        add(dp, scaled(u[i], s.clipNorm()));
      }
    }
    return dp.release(noise);
  }

  private double[] plainMeanRound(double[][] u, boolean[] included, SplittableRandom background, int cohort) {
    double[] sum = new double[s.dimension()];
    int n = 0;
    for (int b = 0; b < s.backgroundSites(); b++) {
      accumulate(sum, backgroundUpdate(background));
      n++;
    }
    for (int i = 0; i < u.length; i++) {
      if (included[i]) {
        accumulate(sum, scaled(u[i], s.clipNorm()));
        n++;
      }
    }
    for (int j = 0; j < sum.length; j++) {
      sum[j] /= Math.max(1, n);
    }
    return sum;
  }

  /** A background site's update: a random direction with norm uniform in (0, 2S) (clipped by the enclave). */
  private double[] backgroundUpdate(SplittableRandom r) {
    return scaled(unit(r, s.dimension()), 2 * s.clipNorm() * r.nextDouble());
  }

  private static void accumulate(double[] sum, double[] v) {
    for (int j = 0; j < sum.length; j++) {
      sum[j] += (float) v[j];
    }
  }

  private static void add(SiteLevelCentralDp dp, double[] v) {
    ByteBuffer buf = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    double ss = 0;
    for (double x : v) {
      float f = (float) x;
      buf.putFloat(f);
      ss += (double) f * f;
    }
    dp.add(buf.array(), 0, ss);
  }

  private static double[] unit(SplittableRandom r, int d) {
    double[] v = new double[d];
    double ss = 0;
    for (int j = 0; j < d; j++) {
      // Box-Muller: an isotropic direction
      double g = Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
      v[j] = g;
      ss += g * g;
    }
    double n = Math.sqrt(ss);
    for (int j = 0; j < d; j++) {
      v[j] /= n;
    }
    return v;
  }

  private static double[] scaled(double[] v, double c) {
    double[] out = new double[v.length];
    for (int j = 0; j < v.length; j++) {
      out[j] = v[j] * c;
    }
    return out;
  }

  static double cosine(double[] a, double[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int j = 0; j < a.length; j++) {
      dot += a[j] * b[j];
      na += a[j] * a[j];
      nb += b[j] * b[j];
    }
    return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
  }

  /**
   * Andrew et al.'s estimate: mu = (mean of included cosines - mean of excluded) / sd of excluded,
   * and the epsilon at delta of the mu-Gaussian mechanism (0 when mu <= 0).
   */
  static double gaussianFitEpsilon(double[] scores, boolean[] included, double delta) {
    double sIn = 0;
    double sOut = 0;
    double ssOut = 0;
    int nIn = 0;
    int nOut = 0;
    for (int i = 0; i < scores.length; i++) {
      if (included[i]) {
        sIn += scores[i];
        nIn++;
      } else {
        sOut += scores[i];
        ssOut += scores[i] * scores[i];
        nOut++;
      }
    }
    if (nIn == 0 || nOut < 2) {
      return 0;
    }
    double meanOut = sOut / nOut;
    double sd = Math.sqrt(Math.max(0, (ssOut - nOut * meanOut * meanOut) / (nOut - 1)));
    double mu = (sIn / nIn - meanOut) / sd;
    return gaussianEpsilon(mu, delta);
  }

  /** Epsilon at delta of the Gaussian mechanism with mu = sensitivity / sigma (Balle and Wang 2018, Thm 8). */
  static double gaussianEpsilon(double mu, double delta) {
    if (!(mu > 0)) {
      return 0;
    }
    if (Double.isInfinite(mu)) {
      return Double.POSITIVE_INFINITY;
    }
    NormalDistribution n = new NormalDistribution(null, 0, 1);
    java.util.function.DoubleUnaryOperator deltaOf = e -> n.cumulativeProbability(-e / mu + mu / 2)
        - Math.exp(e) * n.cumulativeProbability(-e / mu - mu / 2);
    if (deltaOf.applyAsDouble(0) <= delta) {
      return 0;
    }
    double lo = 0;
    double hi = 1;
    while (deltaOf.applyAsDouble(hi) > delta) {
      hi *= 2;
      if (hi > 1e4) {
        return Double.POSITIVE_INFINITY;
      }
    }
    for (int it = 0; it < 200; it++) {
      double mid = (lo + hi) / 2;
      if (deltaOf.applyAsDouble(mid) > delta) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return hi;
  }
}

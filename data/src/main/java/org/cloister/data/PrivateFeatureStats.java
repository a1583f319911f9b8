package org.cloister.data;

import java.util.ArrayList;
import java.util.List;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.NonPrivateEvent;
import org.cloister.dp.noise.GaussianNoise;

/**
 * The bounded DP estimate behind {@link FeatureRule.Kind#PRIVATE} features: one Gaussian mechanism
 * on a site's sufficient statistics, then centre, scale and the fill value for missing data.
 *
 * <p>Per private feature j a record contributes {@code u = (clamp(t(x)) - mid) / half} in [-1, 1]
 * to {@code sum_j} and u^2 in [0, 1] to {@code sumSq_j}, or 1 to {@code missing_j} when x is
 * missing; and 1 to the count. Adding or removing a record therefore moves the released vector by
 * at most {@code sqrt(1 + 2 d)} in L2 (d private features), and the noise has standard deviation
 * {@code noiseMultiplier * sqrt(1 + 2 d)}: the release is a {@link GaussianEvent} with that noise
 * multiplier, composed with the site's DP-SGD events in the same accountant.
 *
 * @param count   noisy record count
 * @param sum     noisy sums of u per private feature (in the spec's order of private features)
 * @param sumSq   noisy sums of u^2
 * @param missing noisy counts of missing values
 */
public record PrivateFeatureStats(double count, double[] sum, double[] sumSq, double[] missing) {

  /** Smallest and largest estimated standard deviation, in units of half the bounds' width. */
  static final double MIN_STD = 1.0 / 64;

  /** Share of a site's epsilon that the release costs on its own (at the site's delta). */
  public static final double BUDGET_SHARE = 0.1;

  /**
   * The noise multiplier with which one release alone is ({@link #BUDGET_SHARE} x siteEpsilon,
   * delta)-DP (RDP accountant, rounded up).
   */
  public static double calibratedNoise(double siteEpsilon, double delta) {
    return new org.cloister.dp.accounting.Calibration(org.cloister.dp.accounting.rdp.RdpAccountant::new)
        .noiseMultiplier(siteEpsilon * BUDGET_SHARE, delta, 1.0, 1);
  }

  /** The DP event of one release at {@code noiseMultiplier} (non-private when 0: exact statistics). */
  public static DpEvent event(double noiseMultiplier) {
    return noiseMultiplier > 0 ? new GaussianEvent(noiseMultiplier) : new NonPrivateEvent();
  }

  /** One site's release; {@code noiseMultiplier} 0 gives the exact statistics (non-private studies only). */
  public static PrivateFeatureStats release(Dataset local, PreprocessingSpec spec, double noiseMultiplier, GaussianNoise noise) {
    if (!(noiseMultiplier >= 0) || Double.isInfinite(noiseMultiplier)) {
      throw new IllegalArgumentException("noise multiplier must be >= 0, got " + noiseMultiplier);
    }
    List<FeatureRule> rules = spec.orderedFor(local.featureNames()).rules();
    List<Integer> cols = privateColumns(rules);
    int d = cols.size();
    double[] sum = new double[d];
    double[] sumSq = new double[d];
    double[] missing = new double[d];
    for (double[] row : local.features()) {
      for (int k = 0; k < d; k++) {
        double x = row[cols.get(k)];
        if (Double.isNaN(x)) {
          missing[k]++;
        } else {
          double u = unit(rules.get(cols.get(k)), x);
          sum[k] += u;
          sumSq[k] += u * u;
        }
      }
    }
    double count = local.size();
    if (noiseMultiplier > 0) {
      double sd = noiseMultiplier * Math.sqrt(1 + 2.0 * d);
      count += sd * noise.nextStandard();
      noise.addTo(sum, sd);
      noise.addTo(sumSq, sd);
      noise.addTo(missing, sd);
    }
    return new PrivateFeatureStats(count, sum, sumSq, missing);
  }

  /**
   * The study's transform from the spec and the released statistics of one or more sites (pooled:
   * post-processing of DP releases).
   */
  public static Preprocessing resolve(PreprocessingSpec spec, List<String> features, List<PrivateFeatureStats> releases) {
    List<FeatureRule> rules = spec.orderedFor(features).rules();
    List<Integer> cols = privateColumns(rules);
    List<FeatureTransform> out = new ArrayList<>();
    for (FeatureRule r : rules) {
      out.add(new FeatureTransform(r.lo(), r.hi(), r.centre(), r.scale(), r.transform()));
    }
    for (int k = 0; k < cols.size(); k++) {
      double n = 0;
      double s = 0;
      double s2 = 0;
      double m = 0;
      for (PrivateFeatureStats p : releases) {
        n += p.count;
        s += p.sum[k];
        s2 += p.sumSq[k];
        m += p.missing[k];
      }
      double observed = Math.max(1, n - Math.max(0, m));
      double mean = Math.max(-1, Math.min(1, s / observed));
      double var = s2 / observed - mean * mean;
      double std = Math.max(MIN_STD, Math.min(1, Math.sqrt(Math.max(0, var))));
      FeatureRule r = rules.get(cols.get(k));
      double mid = (r.lo() + r.hi()) / 2;
      double half = (r.hi() - r.lo()) / 2;
      out.set(cols.get(k), new FeatureTransform(r.lo(), r.hi(), mid + half * mean, half * std, r.transform()));
    }
    return new Preprocessing(features, out);
  }

  private static double unit(FeatureRule r, double x) {
    double t = r.transform().apply(x);
    double mid = (r.lo() + r.hi()) / 2;
    double half = (r.hi() - r.lo()) / 2;
    return Math.max(-1, Math.min(1, (Math.min(r.hi(), Math.max(r.lo(), t)) - mid) / half));
  }

  private static List<Integer> privateColumns(List<FeatureRule> rules) {
    List<Integer> cols = new ArrayList<>();
    for (int j = 0; j < rules.size(); j++) {
      if (rules.get(j).kind() == FeatureRule.Kind.PRIVATE) {
        cols.add(j);
      }
    }
    return cols;
  }
}

package org.cloister.site.training;

/**
 * Clipping figures of a training round: how many sampled examples had their gradient clipped and
 * their mean gradient norm before clipping.
 *
 * <p>These are computed from patient data without noise: they are for local use at the site
 * (tuning C, local metrics) and must not be sent off-site or logged as-is; anything released must
 * be noised and accounted for.
 */
public record ClippingStats(long examples, long clipped, double sumOfNorms) {

  public static final ClippingStats EMPTY = new ClippingStats(0, 0, 0);

  /** Fraction of sampled examples whose gradient was clipped (NaN if none was sampled). */
  public double fractionClipped() {
    return examples == 0 ? Double.NaN : clipped / (double) examples;
  }

  /** Mean per-example gradient norm before clipping (NaN if none was sampled). */
  public double meanNorm() {
    return examples == 0 ? Double.NaN : sumOfNorms / examples;
  }

  ClippingStats plus(ClippedBatch batch) {
    double s = 0;
    for (double n : batch.norms()) {
      s += n;
    }
    return new ClippingStats(examples + batch.size(), clipped + batch.clipped(), sumOfNorms + s);
  }
}

package org.cloister.simulations.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.cloister.enclave.aggregation.UpdateKernel;

/**
 * A weighted sum of {@code f32le-delta} updates with the enclave's arithmetic and validation
 * ({@link UpdateKernel}: one fused multiply-add per value; finite values; L2 norm within the
 * policy's bound). One running buffer (two while a candidate is checked): memory O(model).
 */
public final class StreamingSum {
  private final UpdateKernel kernel = UpdateKernel.best();
  private final int dimension;
  private final double maxNorm;
  private final double maxSquaredNorm;
  private float[] sum;
  private float[] spare;
  private double weight;
  private final List<String> accepted = new ArrayList<>();
  private final Map<String, String> rejected = new LinkedHashMap<>();

  public StreamingSum(int dimension, double maxUpdateNorm) {
    this.dimension = dimension;
    this.maxNorm = maxUpdateNorm;
    this.maxSquaredNorm = maxUpdateNorm * maxUpdateNorm;
    this.sum = new float[dimension];
    this.spare = new float[dimension];
  }

  /**
   * Adds site {@code siteId}'s update {@code values} ({@code dimension} little-endian floats) with
   * weight {@code examples}, or records why it is refused.
   */
  public void add(String siteId, byte[] values, long examples) {
    if (examples < 1 || examples > (1L << 40)) {
      rejected.put(siteId, "bad_weight: num_examples must be in [1, 2^40], got " + examples);
      return;
    }
    if (values.length != dimension * Float.BYTES) {
      rejected.put(siteId, "wrong_dimension: update has " + values.length / Float.BYTES + " parameters, expected " + dimension);
      return;
    }
    double sq = kernel.accumulateInto(values, 0, dimension, examples, sum, spare);
    if (!Double.isFinite(sq)) {
      if (UpdateKernel.firstNonFinite(values, 0, dimension) >= 0) {
        rejected.put(siteId, "not_finite: the update contains NaN or infinite values");
        return;
      }
      sq = UpdateKernel.exactSumOfSquares(values, 0, dimension);
    }
    if (!(sq <= maxSquaredNorm)) {
      rejected.put(siteId, String.format(Locale.ROOT, "norm_exceeded: the update's L2 norm exceeds the policy bound %.6g",
          maxNorm));
      return;
    }
    float[] t = sum;
    sum = spare;
    spare = t;
    accepted.add(siteId);
    weight += examples;
  }

  /** The running sum (not a copy). */
  public float[] sum() {
    return sum;
  }

  public double weight() {
    return weight;
  }

  public List<String> accepted() {
    return accepted;
  }

  public Map<String, String> rejected() {
    return rejected;
  }
}

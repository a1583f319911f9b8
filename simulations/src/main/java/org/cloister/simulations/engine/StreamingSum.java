package org.cloister.simulations.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.enclave.aggregation.UpdateChecks;
import org.cloister.enclave.aggregation.UpdateKernel;

/**
 * A weighted sum of {@code f32le-delta} updates with the enclave's arithmetic ({@link UpdateKernel}:
 * one fused multiply-add per value) and the enclave's own checks ({@link UpdateChecks}: weight,
 * dimension, finite values, L2 norm within the policy's bound). One running buffer (two while a candidate is checked): memory O(model).
 */
public final class StreamingSum {
  private final UpdateKernel kernel = UpdateKernel.best();
  private final int dimension;
  private final UpdateChecks checks;
  private float[] sum;
  private float[] spare;
  private double weight;
  private final List<String> accepted = new ArrayList<>();
  private final Map<String, String> rejected = new LinkedHashMap<>();

  public StreamingSum(int dimension, double maxUpdateNorm) {
    this.dimension = dimension;
    this.checks = new UpdateChecks(dimension, maxUpdateNorm);
    this.sum = new float[dimension];
    this.spare = new float[dimension];
  }

  /**
   * Adds site {@code siteId}'s update {@code values} ({@code dimension} little-endian floats) with
   * weight {@code examples}, or records why it is refused.
   */
  public void add(String siteId, byte[] values, long examples) {
    String problem = UpdateChecks.weightProblem(examples);
    if (problem == null) {
      problem = values.length % Float.BYTES != 0
          ? "wrong_dimension: update of " + values.length + " bytes is not whole float32 values"
          : checks.dimensionProblem(values.length / Float.BYTES);
    }
    if (problem == null) {
      problem = checks.valueProblem(values, 0, kernel.accumulateInto(values, 0, dimension, examples, sum, spare));
    }
    if (problem != null) {
      rejected.put(siteId, problem);
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

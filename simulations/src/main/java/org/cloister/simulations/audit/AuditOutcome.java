package org.cloister.simulations.audit;

import org.cloister.audit.AuditResult;

/**
 * An audit's outcome.
 *
 * @param kind the canary kind (gradient)
 * @param settings what was run
 * @param result the one-run statistics
 * @param epsilonUpperBound the accountant's epsilon (RDP) at delta for the assumed noise multiplier
 * @param verdict {@code violation} when the lower bound exceeds the accountant's bound, else
 *     {@code consistent}
 * @param scores every canary's score
 * @param included every canary's secret inclusion bit (revealed after scoring)
 * @param seconds wall-clock duration (reporting only)
 */
public record AuditOutcome(String kind, AuditSettings settings, AuditResult result, double epsilonUpperBound,
                           String verdict, double[] scores, boolean[] included, double seconds) {
  public static final String CONSISTENT = "consistent";
  public static final String VIOLATION = "violation";

  public AuditOutcome {
    scores = scores.clone();
    included = included.clone();
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

package org.cloister.simulations.audit;

import java.util.LinkedHashMap;
import java.util.Map;
import org.cloister.audit.AuditResult;

/** The JSON object of an audit (for {@code cloister audit --json}, --out and results.json). */
public final class AuditJson {
  private AuditJson() {
  }

  /** Field names are snake_case; NaN figures (an empty class) become null. */
  public static Map<String, Object> of(AuditOutcome o) {
    AuditResult r = o.result();
    AuditSettings s = o.settings();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("kind", o.kind());
    m.put("epsilon_lower_bound", r.epsilonLowerBound());
    m.put("confidence", r.confidence());
    m.put("epsilon_upper_bound", o.epsilonUpperBound());
    m.put("upper_bound_accountant", "rdp");
    m.put("delta", r.delta());
    m.put("accountant_delta", s.delta());
    m.put("verdict", o.verdict());
    m.put("canaries", r.canaries());
    m.put("included", r.included());
    m.put("guesses", r.guesses());
    m.put("correct", r.correct());
    m.put("tpr_at_fpr_1e-3", finite(r.tprAtFpr1e3()));
    m.put("tpr_at_fpr_1e-2", finite(r.tprAtFpr1e2()));
    m.put("auroc", finite(r.auroc()));
    m.put("model", s.model());
    m.put("noise_multiplier", s.noiseMultiplier());
    m.put("assumed_noise_multiplier", s.assumedNoiseMultiplier());
    m.put("clip", s.clipNorm());
    m.put("sampling_rate", s.samplingRate());
    m.put("steps", s.steps());
    m.put("seed", s.seed());
    m.put("seconds", Math.round(o.seconds() * 10) / 10.0);
    return m;
  }

  private static Double finite(double v) {
    return Double.isFinite(v) ? v : null;
  }
}

package org.cloister.simulations.audit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.data.Dataset;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationData;

/**
 * {@code simulate --audit-canaries M}: a gradient-canary audit at each site, on that site's training
 * partition, with the site's DP-SGD settings of the study (the noise multiplier the study ran, clip,
 * sampling rate, and all rounds' local steps composed), through the real DP-SGD trainer. Each site's
 * audit is a separate training run beside the study (the study's model never carries canaries).
 */
public final class StudyAudit {
  private StudyAudit() {
  }

  /**
   * One audit JSON object (see {@link AuditJson}) per site, with a {@code site} index.
   *
   * @param noiseMultiplier the noise multiplier the study's sites ran
   */
  public static List<Map<String, Object>> perSite(SimulationConfig cfg, double noiseMultiplier, int canaries) {
    if (!cfg.dp().enabled()) {
      throw new IllegalArgumentException("--audit-canaries audits DP-SGD; this study runs without DP (--no-dp): "
          + "there is no bound to test (epsilon is infinite)");
    }
    SimulationData data = SimulationData.prepare(cfg);
    List<Map<String, Object>> out = new ArrayList<>();
    for (int site = 0; site < data.sitePartitions().size(); site++) {
      Dataset d = data.sitePartitions().get(site);
      double q = Double.isNaN(cfg.dp().samplingRate()) ? Math.min(1.0, (double) cfg.batchSize() / d.size())
          : cfg.dp().samplingRate();
      int stepsPerRound = cfg.localSteps() > 0 ? cfg.localSteps()
          : (int) Math.ceil((double) cfg.localEpochs() * d.size() / cfg.batchSize());
      AuditSettings s = new AuditSettings(cfg.model(), canaries, noiseMultiplier, noiseMultiplier,
          cfg.dp().clipNorm(), q, cfg.rounds() * stepsPerRound, cfg.dp().delta(), 0.05, cfg.learningRate(),
          cfg.seed() + 1000L * (site + 1));
      Map<String, Object> j = new LinkedHashMap<>();
      j.put("site", site);
      j.putAll(AuditJson.of(new GradientCanaryAudit(s).run(d, t -> { })));
      out.add(j);
    }
    return out;
  }
}

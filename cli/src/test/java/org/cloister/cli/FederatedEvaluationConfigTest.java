package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18, federated evaluation fails closed: evaluation on without its noise setting, or a held-out fraction
 * outside (0, 1), is refused at start with exit 2 naming the key; only {@code enabled: false}, alone, turns it off.
 */
class FederatedEvaluationConfigTest {
  private static String coordinator(String evaluation) {
    return """
        tls: {certificate: c.crt, private_key: c.key, trust_root: ca.crt}
        sites: [site-1, site-2]
        study:
          id: s1
          features: 30
          classes: 2
          dp: {noise_multiplier: 1.5, clip: 1.0}
          evaluation: %s
        privacy: {epsilon: 3.0, delta: 1.0e-5}
        """.formatted(evaluation);
  }

  private static CloisterCommandTest.Run start(Path dir, String evaluation) throws Exception {
    Path f = dir.resolve("coordinator.yaml");
    Files.writeString(f, coordinator(evaluation));
    return CloisterCommandTest.run("coordinator", "start", "--config", f.toString());
  }

  @Test
  void evaluationWithoutNoiseIsRefusedNamingTheKey(@TempDir Path dir) throws Exception {
    CloisterCommandTest.Run noNoise = start(dir, "{bins: 10}");
    assertThat(noNoise.code()).as(noNoise.err()).isEqualTo(2);
    assertThat(noNoise.err()).contains("'study.evaluation.noise_multiplier' must be given and > 0");
    assertThat(start(dir, "{noise_multiplier: 0}").err()).contains("'study.evaluation.noise_multiplier' must be given");
    assertThat(start(dir, "{enabled: true}").err()).contains("'study.evaluation.noise_multiplier' must be given");
    CloisterCommandTest.Run both = start(dir, "{enabled: false, noise_multiplier: 5}");
    assertThat(both.code()).isEqualTo(2);
    assertThat(both.err()).contains("'study.evaluation.enabled' is false but other");
    CloisterCommandTest.Run oddBins = start(dir, "{noise_multiplier: 5, bins: 7}");
    assertThat(oddBins.code()).isEqualTo(2);
    assertThat(oddBins.err()).contains("'study.evaluation.bins'").contains("even");
    // accepted settings get past the evaluation check (and fail later, here on the missing certificate)
    for (String ok : new String[] {"{noise_multiplier: 5}", "{enabled: false}"}) {
      CloisterCommandTest.Run run = start(dir, ok);
      assertThat(run.err()).doesNotContain("study.evaluation").contains("c.crt");
    }
  }

  @Test
  void aHeldOutFractionOutsideZeroOneIsRefusedNamingTheKey(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("site.yaml");
    Files.writeString(f, """
        coordinator: 127.0.0.1:7443
        study_id: s1
        tls: {certificate: s.crt, private_key: s.key, trust_root: ca.crt}
        data: {csv: data.csv, label: y, classes: [0, 1], preprocessing: builtin:wdbc}
        budget: {epsilon: 3.0, delta: 1.0e-5}
        state_dir: state
        evaluation: {holdout_fraction: 1.0}
        """);
    CloisterCommandTest.Run run = CloisterCommandTest.run("site", "start", "--config", f.toString());
    assertThat(run.code()).as(run.err()).isEqualTo(2);
    assertThat(run.err()).contains("'evaluation.holdout_fraction' must be in (0, 1), got 1.0");
  }
}

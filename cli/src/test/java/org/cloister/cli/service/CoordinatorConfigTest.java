package org.cloister.cli.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.cloister.cli.config.ConfigDir;
import org.cloister.cli.config.CoordinatorFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinator's privacy configuration fails closed: nothing missing or malformed turns budgets or DP off. */
class CoordinatorConfigTest {
  @TempDir Path dir;

  /** A complete coordinator.yaml but for the study's dp block and the privacy block, which each test gives. */
  private static String file(String dp, String privacy) {
    return """
        tls: {certificate: c.crt, private_key: c.key, trust_root: ca.crt}
        sites: [site-1, site-2]
        study:
          id: s1
          features: 30
          classes: 2
        %s%s""".formatted(dp == null ? "" : "  dp: " + dp + "\n", privacy == null ? "" : "privacy: " + privacy + "\n");
  }

  private ConfigDir.Bound<CoordinatorFile> bind(String yaml) throws Exception {
    Path f = dir.resolve("coordinator.yaml");
    Files.writeString(f, yaml);
    return ConfigDir.bind(f, CoordinatorFile.class);
  }

  private static final String DP = "{noise_multiplier: 1.5, clip: 0.5}";

  /** Noticed fuzzing the YAML loaders: a file that is not UTF-8 failed with "Input length = 1", not saying what is wrong. */
  @Test
  void aFileThatIsNotUtf8IsRefusedNamingTheFile() throws Exception {
    Path f = Files.write(dir.resolve("coordinator.yaml"), new byte[] {'s', ':', ' ', (byte) 0xff, '\n'});
    assertThatThrownBy(() -> ConfigDir.bind(f, CoordinatorFile.class)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("coordinator.yaml: not UTF-8 text");
  }

  @Test
  void aMissingOrEmptyPrivacyBlockIsRefusedNotUnenforced() {
    assertThatThrownBy(() -> bind(file(DP, null)))
        .hasMessageContaining("coordinator.yaml: 'privacy' is missing (required)");
    assertThatThrownBy(() -> bind(file(DP, "")))
        .hasMessageContaining("coordinator.yaml: 'privacy' has no value");
    assertThatThrownBy(() -> bind(file(DP, "{}")))
        .hasMessageContaining("coordinator.yaml: 'privacy' is an empty block");
  }

  @Test
  void ceilingsHaveNoSilentDefault() throws Exception {
    assertThatThrownBy(() -> bind(file(DP, "{delta: 1.0e-5}")))
        .hasMessageContaining("'privacy.epsilon' is missing");
    assertThatThrownBy(() -> bind(file(DP, "{epsilon: 2.0}")))
        .hasMessageContaining("'privacy.delta' is missing");
    assertThatThrownBy(() -> bind(file(DP, "{epsilon: \"2\", delta: 1.0e-5}")))
        .hasMessageContaining("'privacy.epsilon' must be a number");
    assertThatThrownBy(() -> CoordinatorService.budgets(bind(file(DP, "{epsilon: 0.0, delta: 1.0e-5}"))))
        .hasMessageContaining("'privacy.epsilon' must be a finite number > 0");
    assertThatThrownBy(() -> CoordinatorService.budgets(bind(file(DP, "{epsilon: 2.0, delta: 1.0e-5, sites: {site-9: {epsilon: 1.0}}}"))))
        .hasMessageContaining("'privacy.sites.site-9' is not a site on the roster");
    assertThatThrownBy(() -> bind(file(DP, "{epsilon: 2.0, delta: 1.0e-5, ceiling: 3.0}")))
        .hasMessageContaining("unknown key 'privacy.ceiling'");
    var b = CoordinatorService.budgets(bind(file(DP, "{epsilon: 2.0, delta: 1.0e-6, sites: {site-2: {epsilon: 1.0}}}")));
    assertThat(b.ceilingOf("site-1").epsilon()).isEqualTo(2.0);
    assertThat(b.ceilingOf("site-1").delta()).isEqualTo(1e-6);
    assertThat(b.ceilingOf("site-2").epsilon()).isEqualTo(1.0);
    assertThat(b.ceilingOf("site-2").delta()).isEqualTo(1e-6);
  }

  private static final String PRIVACY = "{epsilon: 3.0, delta: 1.0e-5}";

  private org.cloister.protocol.v1.DpConfig dp(String dp) throws Exception {
    var bound = bind(file(dp, PRIVACY));
    return CoordinatorService.dpConfig(bound.dir(), bound.value().study());
  }

  @Test
  void theStudyDpBlockIsRequiredAndOnlyAnExplicitFalseIsNonPrivate() throws Exception {
    assertThatThrownBy(() -> dp(null)).hasMessageContaining("'study.dp' is missing (required)");
    assertThatThrownBy(() -> dp("")).hasMessageContaining("'study.dp' has no value");
    assertThatThrownBy(() -> dp("{}")).hasMessageContaining("'study.dp' is an empty block");
    assertThatThrownBy(() -> dp("{enabled: \"false\"}")).hasMessageContaining("'study.dp.enabled' must be true or false");
    assertThatThrownBy(() -> dp("{enabled: 0}")).hasMessageContaining("'study.dp.enabled' must be true or false");
    assertThatThrownBy(() -> dp("{enabled: false, noise_multiplier: 1.0}")).hasMessageContaining("'study.dp.enabled' is false");
    assertThat(dp("{enabled: false}").getEnabled()).isFalse();
    var on = dp(DP);
    assertThat(on.getEnabled()).isTrue();
    assertThat(on.getNoiseMultiplier()).isEqualTo(1.5);
    assertThat(on.getClipNorm()).isEqualTo(0.5);
    assertThat(on.getCountPrivate()).isFalse();
  }

  @Test
  void theClipNormHasNoDefault() {
    assertThatThrownBy(() -> dp("{noise_multiplier: 1.5}")).hasMessageContaining("'study.dp.clip' must be given");
    assertThatThrownBy(() -> dp("{enabled: true, clip: 1.0}")).hasMessageContaining("'study.dp.noise_multiplier' must be given");
  }

  @Test
  void countPrivateStudyMustFixSamplingRateAndSteps() throws Exception {
    assertThatThrownBy(() -> dp("{noise_multiplier: 1.5, clip: 1.0, count_private: true}")).hasMessageContaining("count_private' needs");
    Path f = dir.resolve("coordinator.yaml");
    Files.writeString(f, file("{noise_multiplier: 1.5, clip: 1.0, sampling_rate: 0.25, count_private: true}", PRIVACY)
        .replace("  classes: 2\n", "  classes: 2\n  local_steps: 3\n"));
    var bound = ConfigDir.bind(f, CoordinatorFile.class);
    assertThat(CoordinatorService.dpConfig(bound.dir(), bound.value().study()).getCountPrivate()).isTrue();
  }
}

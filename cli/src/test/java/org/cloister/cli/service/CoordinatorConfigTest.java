package org.cloister.cli.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.cloister.cli.config.ConfigMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinator's privacy configuration fails closed: nothing missing or malformed turns budgets or DP off. */
class CoordinatorConfigTest {
  @TempDir Path dir;

  private ConfigMap config(String yaml) throws Exception {
    Path f = dir.resolve("coordinator.yaml");
    Files.writeString(f, yaml);
    return ConfigMap.load(f, CoordinatorService.KEYS);
  }

  /** Noticed fuzzing the YAML loaders: a file that is not UTF-8 failed with "Input length = 1", naming nothing. */
  @Test
  void aFileThatIsNotUtf8IsRefusedNamingTheFile() throws Exception {
    Path f = Files.write(dir.resolve("coordinator.yaml"), new byte[] {'s', ':', ' ', (byte) 0xff, '\n'});
    assertThatThrownBy(() -> ConfigMap.load(f, CoordinatorService.KEYS)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("coordinator.yaml: not UTF-8 text");
  }

  @Test
  void aMissingOrEmptyPrivacyBlockIsRefusedNotUnenforced() throws Exception {
    assertThatThrownBy(() -> CoordinatorService.budgets(config("sites: [site-1]\n")))
        .hasMessageContaining("coordinator.yaml: 'privacy' is missing or empty");
    assertThatThrownBy(() -> CoordinatorService.budgets(config("sites: [site-1]\nprivacy:\n")))
        .hasMessageContaining("'privacy' is missing or empty");
  }

  @Test
  void ceilingsHaveNoSilentDefault() throws Exception {
    assertThatThrownBy(() -> CoordinatorService.budgets(config("sites: [site-1]\nprivacy: {delta: 1.0e-5}\n")))
        .hasMessageContaining("'privacy.epsilon' is missing");
    assertThatThrownBy(() -> CoordinatorService.budgets(config("sites: [site-1]\nprivacy: {epsilon: 2}\n")))
        .hasMessageContaining("'privacy.delta' is missing");
    assertThatThrownBy(() -> CoordinatorService.budgets(config("sites: [site-1]\nprivacy: {epsilon: \"2\", delta: 1.0e-5}\n")))
        .hasMessageContaining("'privacy.epsilon' must be a number");
    assertThatThrownBy(() -> CoordinatorService.budgets(config("sites: [site-1]\nprivacy: {epsilon: 0, delta: 1.0e-5}\n")))
        .hasMessageContaining("'privacy.epsilon' must be a finite number > 0");
    var b = CoordinatorService.budgets(config("sites: [site-1]\nprivacy: {epsilon: 2, delta: 1.0e-6}\n"));
    assertThat(b.ceilingOf("site-1").epsilon()).isEqualTo(2.0);
    assertThat(b.ceilingOf("site-1").delta()).isEqualTo(1e-6);
  }

  @Test
  void theStudyDpBlockIsRequiredAndOnlyAnExplicitFalseIsNonPrivate() throws Exception {
    assertThatThrownBy(() -> CoordinatorService.dpConfig(config("study: {model: logreg}\n").section("study", CoordinatorService.STUDY_KEYS)))
        .hasMessageContaining("'study.dp' is missing or empty");
    assertThatThrownBy(() -> CoordinatorService.dpConfig(config("study: {dp: }\n").section("study", CoordinatorService.STUDY_KEYS)))
        .hasMessageContaining("'study.dp' is missing or empty");
    assertThatThrownBy(() -> CoordinatorService.dpConfig(config("study: {dp: {enabled: \"false\"}}\n").section("study", CoordinatorService.STUDY_KEYS)))
        .hasMessageContaining("'study.dp.enabled' must be true or false");
    assertThatThrownBy(() -> CoordinatorService.dpConfig(config("study: {dp: {enabled: 0}}\n").section("study", CoordinatorService.STUDY_KEYS)))
        .hasMessageContaining("'study.dp.enabled' must be true or false");
    assertThatThrownBy(() -> CoordinatorService.dpConfig(config("study: {dp: {enabled: false, noise_multiplier: 1}}\n").section("study", CoordinatorService.STUDY_KEYS)))
        .hasMessageContaining("not a known key");
    assertThat(CoordinatorService.dpConfig(config("study: {dp: {enabled: false}}\n").section("study", CoordinatorService.STUDY_KEYS)).getEnabled()).isFalse();
    var dp = CoordinatorService.dpConfig(config("study: {dp: {noise_multiplier: 1.5, clip: 0.5}}\n").section("study", CoordinatorService.STUDY_KEYS));
    assertThat(dp.getEnabled()).isTrue();
    assertThat(dp.getNoiseMultiplier()).isEqualTo(1.5);
    assertThat(dp.getCountPrivate()).isFalse();
  }

  @Test
  void countPrivateStudyMustFixSamplingRateAndSteps() throws Exception {
    assertThatThrownBy(() -> CoordinatorService.dpConfig(config("study: {dp: {noise_multiplier: 1.5, count_private: true}}\n")
        .section("study", CoordinatorService.STUDY_KEYS))).hasMessageContaining("count_private' needs");
    var dp = CoordinatorService.dpConfig(config("study: {local_steps: 3, dp: {noise_multiplier: 1.5, sampling_rate: 0.25, "
        + "count_private: true}}\n").section("study", CoordinatorService.STUDY_KEYS));
    assertThat(dp.getCountPrivate()).isTrue();
  }
}

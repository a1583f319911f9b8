package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every configuration file fails closed at the command line: a privacy block left empty, a required
 * key missing, a quoted number or an unknown key stops the command with exit 2 and the file and key named.
 */
class ConfigFilesCommandTest {
  @TempDir Path dir;

  private static final String COORDINATOR = """
      tls: {certificate: c.crt, private_key: c.key, trust_root: ca.crt}
      sites: [site-1]
      study: {id: s1, features: 30, classes: 2, dp: {noise_multiplier: 1.0, clip: 1.0}}
      """;

  private CloisterCommandTest.Run coordinator(String yaml) throws Exception {
    Path f = dir.resolve("coordinator.yaml");
    Files.writeString(f, yaml);
    return CloisterCommandTest.run("coordinator", "start", "--config", f.toString());
  }

  @Test
  void aCoordinatorWithAnEmptyPrivacyBlockIsRefusedNamingTheKey() throws Exception {
    CloisterCommandTest.Run r = coordinator(COORDINATOR + "privacy:\n");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("coordinator.yaml: 'privacy' has no value");
    r = coordinator(COORDINATOR + "privacy: {}\n");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("coordinator.yaml: 'privacy' is an empty block");
    r = coordinator(COORDINATOR);
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("coordinator.yaml: 'privacy' is missing (required)");
    r = coordinator(COORDINATOR.replace("dp: {noise_multiplier: 1.0, clip: 1.0}", "dp: {enabled: \"false\"}")
        + "privacy: {epsilon: 1.0, delta: 1.0e-5}\n");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("'study.dp.enabled' must be true or false");
  }

  @Test
  void aSiteWithoutItsOwnBudgetIsRefusedNotGivenEpsilonThree() throws Exception {
    Path f = dir.resolve("site.yaml");
    String site = """
        coordinator: 127.0.0.1:7443
        study_id: s1
        tls: {certificate: s.crt, private_key: s.key, trust_root: ca.crt}
        data: {csv: data.csv, label: label, classes: [0, 1], preprocessing: builtin:wdbc}
        state_dir: state
        """;
    Files.writeString(f, site);
    CloisterCommandTest.Run r = CloisterCommandTest.run("site", "start", "--config", f.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("site.yaml: 'budget' is missing (required)");
    Files.writeString(f, site + "budget: {epsilon: 3.0}\n");
    r = CloisterCommandTest.run("site", "start", "--config", f.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("site.yaml: 'budget.delta' is missing (required)");
    Files.writeString(f, site.replace("classes: [0, 1], ", "") + "budget: {epsilon: 3.0, delta: 1.0e-5}\n");
    r = CloisterCommandTest.run("site", "start", "--config", f.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("site.yaml: 'data.classes' is missing (required)");
  }

  @Test
  void aConsortiumFileWithAQuotedNumberOrAnUnknownKeyIsRefused() throws Exception {
    Path f = dir.resolve("consortium.yaml");
    Files.writeString(f, "consortium: c\nsites: [a, b, c]\nvalidity_days: \"30\"\n");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", f.toString(), "--out", dir.resolve("o").toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("consortium.yaml: 'validity_days' must be a whole number");
    Files.writeString(f, "consortium: c\nsites: [a, b, c]\nstudy: {min_site: 2}\n");
    r = CloisterCommandTest.run("provision", f.toString(), "--out", dir.resolve("o").toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("consortium.yaml: unknown key 'study.min_site'");
  }
}

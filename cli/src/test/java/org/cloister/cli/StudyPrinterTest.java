package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import org.cloister.simulations.DpSettings;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SimulationConfig;
import org.junit.jupiter.api.Test;

/** Progress while a study runs: a redrawn bar on a terminal, plain lines otherwise. */
class StudyPrinterTest {
  private final SimulationConfig cfg = SimulationConfig.builder().rounds(4).dp(DpSettings.budget(1.0, 1e-5, 1.0))
      .outDir(Path.of("unused")).build();

  private static RoundReport round(int r) {
    return new RoundReport(r, r + 1, java.util.List.of("site-1", "site-2", "site-3"), Map.of(), 0.9 + r / 100.0, 0.95, 0.2, 1500,
        Map.of("site-1", 0.25 * r, "site-2", 0.2 * r));
  }

  @Test
  void plainLinesCarryRoundAccuracyAndEpsilonSpent() {
    StringWriter s = new StringWriter();
    StudyPrinter p = new StudyPrinter(new PrintWriter(s), false, false);
    p.round(round(1), cfg);
    p.round(round(2), cfg);
    assertThat(s.toString().lines().toList()).containsExactly(
        "round  1/4  sites 3/3  accuracy 0.9100  auc 0.9500  loss 0.2000  epsilon 0.25/1.00  (1.5 s, 2.0 sites/s, ETA 5 s)",
        "round  2/4  sites 3/3  accuracy 0.9200  auc 0.9500  loss 0.2000  epsilon 0.50/1.00  (1.5 s, 2.0 sites/s, ETA 3 s)");
    assertThat(s.toString()).doesNotContain("\r");
  }

  @Test
  void onATerminalOneLineIsRedrawnAndEndsWithTheLastRound() {
    StringWriter s = new StringWriter();
    StudyPrinter p = new StudyPrinter(new PrintWriter(s), false, true);
    for (int r = 1; r <= 4; r++) {
      p.round(round(r), cfg);
    }
    String out = s.toString();
    assertThat(out.chars().filter(c -> c == '\r').count()).isEqualTo(4);
    assertThat(out.chars().filter(c -> c == '\n').count()).isEqualTo(1);
    assertThat(out).contains("\r[#####...............] round 1/4  accuracy 0.9100  auc 0.9500  epsilon 0.25/1.00")
        .contains("\r[####################] round 4/4  accuracy 0.9400  auc 0.9500  epsilon 1.00/1.00");
  }

  @Test
  void jsonModePrintsNoProgress() {
    StringWriter s = new StringWriter();
    new StudyPrinter(new PrintWriter(s), true, true).round(round(1), cfg);
    assertThat(s.toString()).isEmpty();
  }

  @Test
  void everyResultLineOfANonPrivateStudySaysSo() {
    SimulationConfig baseline = SimulationConfig.builder().rounds(4).dp(DpSettings.off()).outDir(Path.of("unused")).build();
    StringWriter s = new StringWriter();
    StudyPrinter p = new StudyPrinter(new PrintWriter(s), false, false);
    p.round(round(1), baseline);
    p.round(round(2), baseline);
    assertThat(s.toString().lines()).hasSize(2).allSatisfy(l -> assertThat(l).contains("NON-PRIVATE"));
  }

  @Test
  void aLargeStudyNamesFiveLeftOutSitesAndCountsTheRest() {
    Map<String, String> left = new java.util.HashMap<>();
    for (int i = 1; i <= 300; i++) {
      left.put("site-" + i, "budget");
    }
    RoundReport r = new RoundReport(1, 2, java.util.List.of("site-301"), left, 0.9, 0.95, 0.2, 1000, Map.of());
    assertThat(StudyPrinter.leftOut(r)).isEqualTo("300 sites [site-1, site-10, site-100, site-101, site-102, ...]");
  }
}

package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.cloister.coordinator.budget.BudgetReport;
import org.cloister.simulations.report.HeadlessChromium;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The budget page as headless Chromium lays it out ({@link HeadlessChromium} and its measuring script
 * {@code measure.js}, from the simulations module's test-jar, shared with the simulation reports' test): no legend over a plotted point or the plot
 * area, every number cell on one line. Tagged {@code browser}: {@code -Pbrowser}.
 */
@Tag("browser")
class BudgetPageInChromiumTest {

  @Test
  void theBudgetChartsLegendCoversNoDataAndNumbersStayOnOneLine(@TempDir Path dir) throws Exception {
    List<BudgetReport.SiteBudget> sites = new ArrayList<>();
    for (int s = 1; s <= 6; s++) {
      List<BudgetReport.Point> history = new ArrayList<>();
      for (int r = 1; r <= 12; r++) {
        history.add(new BudgetReport.Point(r, "round-" + r, "{}", 3.0 * r / 12 * (1 - 0.05 * s), 3.0 * r / 12, "aggregated"));
      }
      sites.add(new BudgetReport.SiteBudget("hospital-number-" + s, 1e-5, 3.0, 3.0 * (1 - 0.05 * s), 3.0, history,
          Map.of(), "dataset-" + s, 3.0, 1, Map.of("aggregated", 12), null));
    }
    String html = BudgetHtml.render(new BudgetHtml.Meta("study-x", "finished: 12 rounds completed", "pld", "ab12",
        Instant.parse("2026-12-05T03:00:00Z"), List.of(new BudgetReport.Check("ledger", true, "72 entries", List.of()))), sites);
    JsonNode m = HeadlessChromium.measure(html, dir.resolve("budget.html"));
    assertThat(m.get("charts")).hasSize(1);
    JsonNode c = m.get("charts").get(0);
    assertThat(c.get("points").asInt()).isPositive();
    assertThat(c.get("covered").asInt()).as("points under the legend").isZero();
    assertThat(c.get("legendOverPlot").asBoolean()).isFalse();
    assertThat(c.get("legendInsideChart").asBoolean()).isTrue();
    assertThat(m.get("cells")).isNotEmpty().allSatisfy(cell -> assertThat(cell.get("lines").asInt())
        .as("cell '%s'", cell.get("text").asText()).isEqualTo(1));
  }
}

package org.cloister.simulations.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.Sweep;
import org.cloister.simulations.SweepAxis;
import org.cloister.simulations.SyntheticResults;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reports as a browser lays them out: headless Chromium renders each page (with a measuring script
 * injected by {@link HeadlessChromium} only, the page's own policy allows none) and the test asserts, from the measured
 * boxes, that no legend covers a plotted point or the plot area, every legend fits its chart, and every
 * number cell of a table is on one line. Needs Chromium ({@code /usr/bin/chromium}; Debian package
 * {@code chromium}), so it is tagged {@code browser} and runs with {@code -Pbrowser}:
 * {@code ./mvnw -o -Pbrowser -pl simulations -am test -Dtest=ReportsInChromiumTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("browser")
class ReportsInChromiumTest {

  /** The page as Chromium laid it out, measured ({@link HeadlessChromium}). */
  static JsonNode measure(String html, Path file) throws Exception {
    return HeadlessChromium.measure(html, file);
  }

  static void assertLaidOutWell(JsonNode m, int charts) {
    assertThat(m.get("charts")).hasSize(charts);
    for (JsonNode c : m.get("charts")) {
      String id = c.get("id").asText();
      assertThat(c.has("missing")).as(id + ": plot area and legend").isFalse();
      assertThat(c.get("points").asInt()).as(id + ": plotted points").isPositive();
      assertThat(c.get("covered").asInt()).as(id + ": points under the legend").isZero();
      assertThat(c.get("legendOverPlot").asBoolean()).as(id + ": legend over the plot area").isFalse();
      assertThat(c.get("legendInsideChart").asBoolean()).as(id + ": legend inside the chart").isTrue();
    }
    assertThat(m.get("cells")).isNotEmpty();
    for (JsonNode cell : m.get("cells")) {
      assertThat(cell.get("lines").asInt()).as("cell '%s' of %s", cell.get("text").asText(), cell.get("table").asText())
          .isEqualTo(1);
    }
  }

  @Test
  void studyReportLegendsCoverNoDataAndNumbersStayOnOneLine(@TempDir Path dir) throws Exception {
    String html = new HtmlReport().study(SyntheticResults.study(8, 12, 2.0, 0.99, dir),
        "cloister simulate --sites 8 --rounds 12 --epsilon 2\n");
    assertLaidOutWell(measure(html, dir.resolve("study.html")), 2);
  }

  @Test
  void sweepReportLegendsWithLongNamesCoverNoData(@TempDir Path dir) throws Exception {
    Sweep s = new Sweep(List.of(SweepAxis.parse("epsilon=0.5,1,2,4"), SweepAxis.parse("alpha=0.1,100")));
    List<Sweep.Point> points = s.run(SimulationConfig.builder().outDir(dir), cfg ->
        SyntheticResults.study(3, 6, cfg.dp().epsilon(), 0.9 + 0.01 * cfg.dp().epsilon(), cfg.outDir()));
    assertLaidOutWell(measure(new HtmlReport().sweep(s, points), dir.resolve("sweep.html")), 2);
  }
}

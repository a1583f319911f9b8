package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.cloister.coordinator.budget.BudgetReport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The budget page as headless Chromium lays it out (the measuring script, {@code measure.js}, is the
 * simulation reports' one; injected by this test only): no legend over a plotted point or the plot
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
    JsonNode m = measure(html, dir.resolve("budget.html"));
    assertThat(m.get("charts")).hasSize(1);
    JsonNode c = m.get("charts").get(0);
    assertThat(c.get("points").asInt()).isPositive();
    assertThat(c.get("covered").asInt()).as("points under the legend").isZero();
    assertThat(c.get("legendOverPlot").asBoolean()).isFalse();
    assertThat(c.get("legendInsideChart").asBoolean()).isTrue();
    assertThat(m.get("cells")).isNotEmpty().allSatisfy(cell -> assertThat(cell.get("lines").asInt())
        .as("cell '%s'", cell.get("text").asText()).isEqualTo(1));
  }

  private static JsonNode measure(String html, Path file) throws Exception {
    String script;
    try (InputStream in = BudgetPageInChromiumTest.class.getResourceAsStream("measure.js")) {
      script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    String page = html.replaceAll("<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "")
        .replace("</body>", "<script>" + script + "</script></body>");
    Files.writeString(file, page, StandardCharsets.UTF_8);
    Path out = file.resolveSibling("budget.dom");
    Path err = file.resolveSibling("budget.stderr");
    Process p = new ProcessBuilder(chromium(), "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run",
        "--window-size=800,1000", "--user-data-dir=" + Files.createTempDirectory(file.getParent(), "profile"), "--dump-dom",
        file.toUri().toString()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish within 120 s");
    }
    assertThat(p.exitValue()).as(Files.readString(err)).isZero();
    String dom = Files.readString(out);
    int start = dom.lastIndexOf("<pre id=\"measured\">");
    assertThat(start).as("the measuring script ran").isNotNegative();
    return new ObjectMapper().readTree(dom.substring(start + "<pre id=\"measured\">".length(), dom.indexOf("</pre>", start))
        .replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"));
  }

  private static String chromium() {
    for (String name : new String[] {"chromium", "chromium-browser", "google-chrome"}) {
      for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
        if (new File(d, name).canExecute()) {
          return new File(d, name).getPath();
        }
      }
    }
    throw new AssertionError("-Pbrowser needs headless Chromium on the PATH (Debian: apt-get install chromium)");
  }
}

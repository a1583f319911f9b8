package org.cloister.simulations.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import org.cloister.simulations.Sweep;
import org.cloister.simulations.SweepAxis;
import org.cloister.simulations.SyntheticResults;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTML report is self-contained and renders in a real browser: headless Chromium (Debian's
 * {@code chromium} package) loads it with a console log, and the test fails on any console message
 * (script errors, blocked external loads) and checks the rendered DOM has the charts and tables.
 */
class HtmlReportTest {

  @Test
  void studyReportIsSelfContainedAndHasItsCharts(@TempDir Path dir) throws Exception {
    SimulationResult r = SyntheticResults.study(3, 5, 1.0, 0.95, dir);
    String html = new HtmlReport().study(r);
    assertSelfContained(html);
    // accuracy and AUC; three sites and the ceiling
    assertThat(count(html, "<svg id=\"utility-chart\"")).isEqualTo(1);
    assertThat(count(chart(html, "utility-chart"), "<polyline")).isEqualTo(2);
    assertThat(count(chart(html, "epsilon-chart"), "<polyline")).isEqualTo(4);
    assertThat(chart(html, "epsilon-chart")).contains("data-name=\"site-3\"").contains("data-name=\"ceiling 1\"")
        .contains("stroke-dasharray");
    assertThat(html).contains("<table id=\"sites-table\"").contains("<table id=\"rounds-table\"").contains("accuracy 0.9500");

    String dom = renderInChromium(html, dir.resolve("report.html"));
    assertThat(dom).contains("id=\"utility-chart\"").contains("id=\"epsilon-chart\"").contains("id=\"sites-table\"");
    assertThat(count(dom, "<polyline")).isEqualTo(6);
  }

  @Test
  void manySitesKeepTheLegendShort(@TempDir Path dir) {
    String html = new HtmlReport().study(SyntheticResults.study(18, 3, 2.0, 0.9, dir));
    assertThat(count(chart(html, "epsilon-chart"), "<polyline")).isEqualTo(19);
    assertThat(chart(html, "epsilon-chart")).contains(" more");
  }

  @Test
  void aLargeStudyShowsDistributionsOverSitesNotOneLineOrRowEach(@TempDir Path dir) {
    SimulationResult r = SyntheticResults.study(1000, 3, 2.0, 0.9, dir);
    String html = new HtmlReport().study(r);
    assertSelfContained(html);
    // min, median and max over the sites, and the ceiling
    assertThat(count(chart(html, "epsilon-chart"), "<polyline")).isEqualTo(4);
    assertThat(chart(html, "epsilon-chart")).contains("data-name=\"median\"").contains("data-name=\"max over sites\"");
    assertThat(html).contains("1000 sites; one row per site is in <code>sites.csv</code>")
        .contains("<tr><th>training examples</th><td>100</td><td>600</td><td>1099</td></tr>")
        .doesNotContain(">site-17<");
    assertThat(html.length()).isLessThan(60_000);
  }

  @Test
  void sweepReportHasThePrivacyUtilityCurve(@TempDir Path dir) throws Exception {
    Sweep s = new Sweep(List.of(SweepAxis.parse("epsilon=0.5,1,2,4,8")));
    List<Sweep.Point> points = s.run(SimulationConfig.builder().outDir(dir), cfg ->
        SyntheticResults.study(3, 4, cfg.dp().epsilon(), 0.85 + 0.01 * cfg.dp().epsilon(), cfg.outDir()));
    String html = new HtmlReport().sweep(s, points);
    assertSelfContained(html);
    String curve = chart(html, "privacy-utility-chart");
    assertThat(curve).contains("(log scale)").contains("data-name=\"accuracy\"").contains("data-name=\"AUC\"");
    assertThat(count(curve, "<circle")).isEqualTo(10); // five points, accuracy and AUC
    assertThat(count(html, "<tr>")).isGreaterThanOrEqualTo(6);
    String dom = renderInChromium(html, dir.resolve("sweep.html"));
    assertThat(dom).contains("id=\"privacy-utility-chart\"").contains("id=\"sweep-table\"").contains("id=\"sweep-rounds-chart\"");
  }

  private static void assertSelfContained(String html) {
    assertThat(html).doesNotContain("<script").doesNotContain("http://").doesNotContain("https://")
        .doesNotContain("<link").doesNotContain("<img").doesNotContain("@import").doesNotContain("url(");
  }

  private static String chart(String html, String id) {
    int start = html.indexOf("<svg id=\"" + id + "\"");
    assertThat(start).as("chart " + id).isNotNegative();
    return html.substring(start, html.indexOf("</svg>", start));
  }

  private static int count(String s, String needle) {
    Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(s);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }

  /** Loads the page in headless Chromium; fails on console messages; returns the DOM it rendered. */
  static String renderInChromium(String html, Path file) throws Exception {
    String chromium = findChromium();
    assumeTrue(chromium != null, "headless Chromium is not installed (Debian: apt-get install chromium): browser check skipped");
    Files.writeString(file, html, StandardCharsets.UTF_8);
    Path err = file.resolveSibling(file.getFileName() + ".stderr");
    Path out = file.resolveSibling(file.getFileName() + ".dom");
    Path profile = Files.createTempDirectory(file.getParent(), "chromium-profile");
    Process p = new ProcessBuilder(chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
        "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0", "--dump-dom", file.toUri().toString())
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish within 120 s");
    }
    String log = Files.readString(err);
    assertThat(p.exitValue()).as(log).isZero();
    assertThat(log.lines().filter(l -> l.contains(":CONSOLE") || l.contains("Uncaught") || l.contains("Refused to")).toList())
        .as("console messages while rendering the report").isEmpty();
    return Files.readString(out);
  }

  private static String findChromium() {
    for (String name : new String[] {"chromium", "chromium-browser", "google-chrome"}) {
      for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
        File f = new File(dir, name);
        if (f.canExecute()) {
          return f.getPath();
        }
      }
    }
    return null;
  }
}
